"""`report.html` opened in headless Chromium: every chart renders, with no console output.

Chromium runs the page for real (`--dump-dom` prints the DOM after the scripts ran), so this
catches what the Python side cannot: a plotly.js error, a figure plotly.js rejects, a chart
that never draws. Console messages reach stderr through `--enable-logging=stderr`; Chromium
logs every level as `INFO:CONSOLE`, so any console line at all fails the test (plotly.js logs
nothing while drawing a valid figure). A control page with a deliberate error proves the
console check itself works.

Skipped, with the reason, when no Chromium binary is found (Debian: `apt-get install -y
chromium`).
"""

from __future__ import annotations

from pathlib import Path

from atb.reporting.files import write_result_files
from atb.reporting.html_report import CHART_IDS
from tests.support.browser import dump_dom
from tests.support.result_builder import build_result


def _chart_sections(dom: str) -> dict[str, str]:
    starts = [dom.index(f'id="{chart_id}"') for chart_id in CHART_IDS]
    ends = [*starts[1:], len(dom)]
    return {
        chart_id: dom[start:end]
        for chart_id, start, end in zip(CHART_IDS, starts, ends, strict=True)
    }


def test_report_charts_render_without_console_errors(chromium: str, tmp_path: Path) -> None:
    files = write_result_files(build_result(synthetic=True), tmp_path / "run")
    dom, console = dump_dom(chromium, files.report_html, tmp_path / "profile")
    assert console == [], "console output while rendering the report:\n" + "\n".join(console)
    sections = _chart_sections(dom)
    for chart_id, section in sections.items():
        assert 'class="main-svg"' in section, f"{chart_id} did not render an SVG"
    price = sections["atb-chart-price"]
    # 7 legs (4 + 2 + the open position's entry) and 2 stop moves, each a drawn point.
    assert price.count('class="point"') == 9
    assert price.count('class="trace scatter') == 7
    assert sections["atb-chart-equity"].count('class="trace scatter') == 2
    assert sections["atb-chart-drawdown"].count('class="trace scatter') == 1
    assert 'class="hm"' in sections["atb-chart-monthly"]
    assert 'id="synthetic-banner"' in dom


def test_console_check_catches_page_errors(chromium: str, tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><script>notDefined();</script></body></html>")
    _, console = dump_dom(chromium, page, tmp_path / "profile")
    assert any("Uncaught ReferenceError" in line for line in console), console
