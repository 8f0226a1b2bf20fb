"""`ResultFiles`: the output folder of a run and the names of the four files inside it.

Kept apart from the writer so the console summary can name the files without importing the
HTML and CSV renderers.
"""

from __future__ import annotations

from pathlib import Path

import attrs

RESULT_JSON = "result.json"
TRADES_CSV = "trades.csv"
EQUITY_CSV = "equity.csv"
REPORT_HTML = "report.html"
RESULT_FILE_NAMES = (RESULT_JSON, TRADES_CSV, EQUITY_CSV, REPORT_HTML)
"""The files `write_result_files` creates, in writing order."""


@attrs.frozen(slots=True)
class ResultFiles:
    """Where a result's files are: the output folder and the four paths inside it."""

    directory: Path

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
        """`equity.csv`: one row per bar."""
        return self.directory / EQUITY_CSV

    @property
    def report_html(self) -> Path:
        """`report.html`: the self-contained report with charts."""
        return self.directory / REPORT_HTML
