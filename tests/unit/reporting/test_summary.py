"""The console summary: the key numbers are there, it fits 100 columns, and it degrades to
plain ASCII text when the console is not a terminal."""

from __future__ import annotations

import io
from pathlib import Path

import attrs
from rich.console import Console

from atb.domain.events import CloseOnlyLatched
from atb.reporting import display
from atb.reporting.result_files import ResultFiles
from atb.reporting.summary import print_summary, render_summary
from atb.results import BacktestResult, StrategyInfo
from tests.support.result_builder import bar_time, build_result


def _text(result: BacktestResult, files: ResultFiles | None = None, *, plain: bool = False) -> str:
    console = Console(record=True, width=100, file=io.StringIO())
    console.print(render_summary(result, files, plain=plain))
    return console.export_text()


def test_headline_metrics_costs_and_comparison() -> None:
    result = build_result()
    text = _text(result)
    metrics = result.metrics
    for label, value in [
        ("Total return", display.pct(metrics.total_return)),
        ("CAGR", display.pct(metrics.cagr)),
        ("Sharpe", display.ratio(metrics.sharpe)),
        ("Sortino", display.ratio(metrics.sortino)),
        ("Max drawdown", display.pct(metrics.max_drawdown)),
        ("Win rate", "50.00%"),
        ("Profit factor", display.ratio(metrics.profit_factor)),
        ("Trades", "2"),
        ("Fees paid", "1.00"),
        ("Slippage paid", "1.25"),
        ("Buy & hold return", display.pct(metrics.buy_and_hold_return)),
        ("Excess over hold", display.pct(metrics.excess_return)),
    ]:
        line = next((row for row in text.splitlines() if label in row), None)
        assert line is not None, f"{label} missing from:\n{text}"
        assert value in line, f"{label}: expected {value} in {line!r}"
    assert "Backtest sma_cross on BTCUSDT 4h" in text
    assert "parameters: fast=10, slow=30" in text


def test_exits_tiers_ambiguity_and_open_position() -> None:
    text = _text(build_result())
    exits = {
        line.split()[1]: line for line in text.splitlines() if "_loss" in line or "take_" in line
    }
    assert "-4.50" in exits["stop_loss"]
    assert "6.62" in exits["take_profit"]  # 6.625 rounds half to even
    assert "0 → 1" in text
    assert "1 → 0" in text
    assert "2 tier change(s) · 2 stop move(s)" in text
    assert "Ambiguous bars: 3 · net PnL -12.50 (pessimistic) … 20.25 (optimistic)" in text
    assert "Open position: long 1 BTCUSDT @ 102" in text
    assert "listed as open" in text
    assert "Open position" not in _text(build_result(with_open_position=False))


def test_warnings_synthetic_tag_model_and_files() -> None:
    result = attrs.evolve(
        build_result(synthetic=True, warnings=("synthetic data: the DEMO market is generated",)),
        strategy=StrategyInfo(
            name="ml_basic", parameters={}, model_id="ml-abc123", overlap_allowed=True
        ),
    )
    files = ResultFiles(Path("/tmp/results/run-1"))
    text = _text(result, files)
    assert "SYNTHETIC DATA" in text
    assert "! synthetic data: the DEMO market is generated" in text
    assert "! 1 data gap(s), 1 missing bar(s)" in text
    assert "model: ml-abc123 (training-window overlap allowed)" in text
    assert "Files: /tmp/results/run-1" in text
    assert "Report: /tmp/results/run-1/report.html" in text
    for name in ("result.json", "trades.csv", "equity.csv"):
        assert name in text


def test_fits_100_columns() -> None:
    for plain in (False, True):
        text = _text(build_result(synthetic=True), ResultFiles(Path("/r/x")), plain=plain)
        assert max(len(line) for line in text.splitlines()) <= 100


def test_not_a_terminal_gives_plain_ascii_tables_without_colour() -> None:
    out = io.StringIO()
    print_summary(build_result(), None, Console(file=out, width=100))
    text = out.getvalue()
    assert "\x1b[" not in text  # no ANSI escapes
    assert "+---" in text  # ASCII borders
    assert "╭" not in text
    assert "Total return" in text


def test_terminal_gets_rounded_tables() -> None:
    console = Console(record=True, width=100, file=io.StringIO(), force_terminal=True)
    print_summary(build_result(), None, console)
    assert "╭" in console.export_text()


def test_no_trades_run() -> None:
    result = attrs.evolve(build_result(with_open_position=False), trades=(), events=())
    text = _text(result)
    assert "no closed trades" in text
    assert "no tier changes" in text


def test_close_only_latch_is_shown() -> None:
    result = build_result()
    latched = attrs.evolve(
        result, events=(*result.events, CloseOnlyLatched(bar_time(33), drawdown=0.21))
    )
    assert "close-only since 2024-02-04 12:00 UTC" in _text(latched)
    assert "close-only" not in _text(result)
