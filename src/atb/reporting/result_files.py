"""`ResultFiles`: the output folder of a run and the names of the four files inside it.

Kept apart from the writer so the console summary can name the files without importing the
HTML and CSV renderers.
"""

from __future__ import annotations

import enum
from pathlib import Path

import attrs

RESULT_JSON = "result.json"
TRADES_CSV = "trades.csv"
EQUITY_CSV = "equity.csv"
EQUITY_PARQUET = "equity.parquet"
REPORT_HTML = "report.html"
RESULT_FILE_NAMES = (RESULT_JSON, TRADES_CSV, EQUITY_CSV, REPORT_HTML)
"""The files `write_result_files` creates by default, in writing order."""
RESULT_ENTRIES = (*RESULT_FILE_NAMES, EQUITY_PARQUET)
"""Every name an earlier run's folder may hold at its top (what `--force` may replace)."""


class EquityFormat(enum.Enum):
    """The file the equity curve is written to (`atb backtest --equity-format`).

    `csv` is text anyone can open; `parquet` holds the same float64 values in binary columns:
    a million-bar curve is written in a tenth of a second instead of seconds (a float's
    shortest text costs ~0.4 µs here, and the curve has four million of them), at a quarter
    of the size.
    """

    CSV = "csv"
    PARQUET = "parquet"

    @property
    def file_name(self) -> str:
        """`equity.csv` or `equity.parquet`."""
        return EQUITY_PARQUET if self is EquityFormat.PARQUET else EQUITY_CSV


def result_file_names(equity_format: EquityFormat) -> tuple[str, ...]:
    """The four files a run writes with its equity curve in `equity_format`."""
    return (RESULT_JSON, TRADES_CSV, equity_format.file_name, REPORT_HTML)


@attrs.frozen(slots=True)
class ResultFiles:
    """Where a result's files are: the output folder and the four paths inside it."""

    directory: Path
    equity_format: EquityFormat = EquityFormat.CSV

    @property
    def result_json(self) -> Path:
        """`result.json`: everything in the result (docs/results.md)."""
        return self.directory / RESULT_JSON

    @property
    def trades_csv(self) -> Path:
        """`trades.csv`: one row per leg."""
        return self.directory / TRADES_CSV

    @property
    def equity_csv(self) -> Path:
        """`equity.csv`: one row per bar (written unless the curve went to Parquet)."""
        return self.directory / EQUITY_CSV

    @property
    def equity(self) -> Path:
        """The equity curve's file: `equity.csv`, or `equity.parquet` (`equity_format`)."""
        return self.directory / self.equity_format.file_name

    @property
    def report_html(self) -> Path:
        """`report.html`: the self-contained report with charts."""
        return self.directory / REPORT_HTML
