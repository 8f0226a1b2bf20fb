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

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from atb.reporting.files import write_result_files
from atb.reporting.html_report import CHART_IDS
from tests.support.result_builder import build_result

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_TIMEOUT_S = 60
_CONSOLE = re.compile(r":CONSOLE(?:\(\d+\)|:\d+)?\]|Uncaught")


def _chromium() -> tuple[str | None, str]:
    """The Chromium binary to use, or None and why none was found."""
    configured = os.environ.get("ATB_CHROMIUM")
    if configured:
        if Path(configured).is_file():
            return configured, ""
        return None, f"$ATB_CHROMIUM={configured} is not a file"
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium", ""
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found, ""
    looked = ", ".join(_CANDIDATES)
    return None, f"no Chromium binary found (looked for /usr/bin/chromium and {looked} on PATH)"


@pytest.fixture(scope="module")
def chromium() -> str:
    """Path of a Chromium binary, or skip the module with the reason."""
    binary, reason = _chromium()
    if binary is None:
        pytest.skip(f"{reason}; install it with `apt-get install -y chromium`")
    return binary


def _dump_dom(binary: str, page: Path, profile: Path) -> tuple[str, list[str]]:
    """Run the page headless; return the DOM after its scripts ran and the console lines."""
    done = subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT_S,
        check=False,
        # No D-Bus session here: tell Chromium so instead of letting it try.
        env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": "disabled:"},
    )
    assert done.returncode == 0, f"chromium exited {done.returncode}:\n{done.stderr[-2000:]}"
    console = [line for line in done.stderr.splitlines() if _CONSOLE.search(line)]
    return done.stdout, console


def _chart_sections(dom: str) -> dict[str, str]:
    starts = [dom.index(f'id="{chart_id}"') for chart_id in CHART_IDS]
    ends = [*starts[1:], len(dom)]
    return {
        chart_id: dom[start:end]
        for chart_id, start, end in zip(CHART_IDS, starts, ends, strict=True)
    }


def test_report_charts_render_without_console_errors(chromium: str, tmp_path: Path) -> None:
    files = write_result_files(build_result(synthetic=True), tmp_path / "run")
    dom, console = _dump_dom(chromium, files.report_html, tmp_path / "profile")
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
    _, console = _dump_dom(chromium, page, tmp_path / "profile")
    assert any("Uncaught ReferenceError" in line for line in console), console
