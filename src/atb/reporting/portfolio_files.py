"""Writing a portfolio backtest's four files into an output folder, atomically.

The same four names as a single-symbol run (`result.json`, `trades.csv`, `equity.csv`,
`report.html`; `atb.reporting.result_files`), rendered in memory first, then written by
`atb.reporting.files.write_rendered`: a hidden staging sibling, every file fsynced, renamed into
place as the last step; a failure leaves no partial output folder behind.
"""

from __future__ import annotations

import os

from atb.reporting.equity_parquet import equity_parquet
from atb.reporting.files import write_rendered
from atb.reporting.portfolio_csv import (
    equity_columns,
    portfolio_equity_csv,
    portfolio_equity_values,
    portfolio_trades_csv,
)
from atb.reporting.portfolio_json import portfolio_to_json
from atb.reporting.portfolio_report import render_portfolio_report
from atb.reporting.result_files import (
    REPORT_HTML,
    RESULT_JSON,
    TRADES_CSV,
    EquityFormat,
    ResultFiles,
)
from atb.results import PortfolioResult

__all__ = ["render_portfolio_files", "write_portfolio_files"]


def render_portfolio_files(
    result: PortfolioResult, equity_format: EquityFormat = EquityFormat.CSV
) -> dict[str, str | bytes]:
    """The content of each result file by file name (what `write_portfolio_files` writes):
    text, and the bytes of `equity.parquet` when the curve goes to Parquet."""
    equity: str | bytes
    if equity_format is EquityFormat.PARQUET:
        equity = equity_parquet(equity_columns(result), *portfolio_equity_values(result))
    else:
        equity = portfolio_equity_csv(result)
    return {
        RESULT_JSON: portfolio_to_json(result, equity_format=equity_format),
        TRADES_CSV: portfolio_trades_csv(result),
        equity_format.file_name: equity,
        REPORT_HTML: render_portfolio_report(result),
    }


def write_portfolio_files(
    result: PortfolioResult,
    out_dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    equity_format: EquityFormat = EquityFormat.CSV,
) -> ResultFiles:
    """Write the portfolio's `result.json`, `trades.csv`, `equity.csv` (or `equity.parquet`,
    by `equity_format`) and `report.html` into `out_dir`, with `write_result_files`'s rules.

    `out_dir` must not exist (missing parents are created). With `overwrite=True` an existing
    `out_dir` that holds nothing but these four files is replaced as a whole; a folder with any
    other content is never touched. Raises `FileExistsError` for an existing folder that may
    not be replaced, and re-raises any rendering or IO error; no partial output folder (and no
    temporary sibling) is ever left behind.
    """
    contents = render_portfolio_files(result, equity_format)
    return write_rendered(contents, out_dir, overwrite=overwrite)
