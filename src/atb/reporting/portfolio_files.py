"""Writing a portfolio backtest's four files into an output folder, atomically.

The same four names as a single-symbol run (`result.json`, `trades.csv`, `equity.csv`,
`report.html`; `atb.reporting.result_files`), rendered in memory first, then written by
`atb.reporting.files.write_rendered`: a hidden staging sibling, every file fsynced, renamed into
place as the last step; a failure leaves no partial output folder behind.
"""

from __future__ import annotations

import os

from atb.reporting.files import write_rendered
from atb.reporting.portfolio_csv import portfolio_equity_csv, portfolio_trades_csv
from atb.reporting.portfolio_json import portfolio_to_json
from atb.reporting.portfolio_report import render_portfolio_report
from atb.reporting.result_files import (
    EQUITY_CSV,
    REPORT_HTML,
    RESULT_JSON,
    TRADES_CSV,
    ResultFiles,
)
from atb.results import PortfolioResult

__all__ = ["render_portfolio_files", "write_portfolio_files"]


def render_portfolio_files(result: PortfolioResult) -> dict[str, str]:
    """The text of each result file by file name (what `write_portfolio_files` writes)."""
    return {
        RESULT_JSON: portfolio_to_json(result),
        TRADES_CSV: portfolio_trades_csv(result),
        EQUITY_CSV: portfolio_equity_csv(result),
        REPORT_HTML: render_portfolio_report(result),
    }


def write_portfolio_files(
    result: PortfolioResult, out_dir: str | os.PathLike[str], *, overwrite: bool = False
) -> ResultFiles:
    """Write the portfolio's `result.json`, `trades.csv`, `equity.csv` and `report.html` into
    `out_dir`, with `write_result_files`'s rules.

    `out_dir` must not exist (missing parents are created). With `overwrite=True` an existing
    `out_dir` that holds nothing but these four files is replaced as a whole; a folder with any
    other content is never touched. Raises `FileExistsError` for an existing folder that may
    not be replaced, and re-raises any rendering or IO error; no partial output folder (and no
    temporary sibling) is ever left behind.
    """
    return write_rendered(render_portfolio_files(result), out_dir, overwrite=overwrite)
