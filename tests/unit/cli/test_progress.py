"""`show_progress`: the terminal display survives an unknown total; a pipe gets a few plain
lines, and only for work that takes a while."""

from __future__ import annotations

import io
import time

from rich.console import Console

from atb.cli.progress import LINE_INTERVAL, LineProgress, show_progress


class FakeClock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def terminal() -> Console:
    return Console(
        file=io.StringIO(), force_terminal=True, force_interactive=True, width=120, height=40
    )


def screen(console: Console) -> str:
    stream = console.file
    assert isinstance(stream, io.StringIO)
    return stream.getvalue()


def drawn(console: Console, text: str, timeout: float = 5.0) -> bool:
    """True once the display (refreshed by its own thread, 10 times a second) shows `text`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in screen(console):
            return True
        time.sleep(0.02)
    return False


def test_the_terminal_display_draws_unknown_then_known_totals_and_stages() -> None:
    # The crash of issue 11: a bar column formatted `{task.total:,}` while the total was None.
    console = terminal()
    with show_progress("backtest sma_cross DEMO 1h", console=console) as progress:
        assert drawn(console, "backtest sma_cross DEMO 1h")
        progress.update(3)
        assert drawn(console, " 3 bars")
        progress.update(5, total=10)
        assert drawn(console, "5/10 bars")
        progress.stage("writing the report")
        assert drawn(console, "writing the report")
    assert screen(console).endswith("\x1b[2K")  # transient: the display erases itself


def test_a_pipe_gets_nothing_from_quick_work() -> None:
    console = Console(file=io.StringIO(), width=120)
    assert not console.is_interactive
    with show_progress("download BTCUSDT 1h", total=720, console=console) as progress:
        progress.advance(720)
    assert screen(console) == ""


def test_a_pipe_gets_a_line_per_interval_and_a_closing_line() -> None:
    clock, stream = FakeClock(), io.StringIO()
    lines = LineProgress("replay sma_cross BTCUSDT 1h", total=1000, stream=stream, clock=clock)
    lines.update(100)
    clock.now += LINE_INTERVAL - 1
    lines.update(200)
    assert stream.getvalue() == ""  # quiet for the first interval
    clock.now += 1
    lines.update(250)
    clock.now += 1
    lines.update(300)  # within the next interval: no line
    clock.now += LINE_INTERVAL
    lines.advance(400)
    lines.stage("comparing with the backtest")
    clock.now += LINE_INTERVAL
    lines.stage("still comparing")
    lines.finish()
    assert stream.getvalue().splitlines() == [
        "replay sma_cross BTCUSDT 1h: 250/1,000 bars (25%), 10 s elapsed",
        "replay sma_cross BTCUSDT 1h: 700/1,000 bars (70%), 21 s elapsed",
        "still comparing: 31 s elapsed",
        "still comparing: done in 31 s",
    ]
    assert "\r" not in stream.getvalue()
    assert "\x1b" not in stream.getvalue()


def test_pipe_lines_without_a_total_or_a_unit() -> None:
    clock, stream = FakeClock(), io.StringIO()
    counted = LineProgress("download", stream=stream, clock=clock)
    spinner = LineProgress("training ml_basic", unit=None, stream=stream, clock=clock)
    clock.now += LINE_INTERVAL
    counted.update(1234)
    spinner.update(0)
    counted.finish()
    spinner.finish()
    assert stream.getvalue().splitlines() == [
        "download: 1,234 bars, 10 s elapsed",
        "training ml_basic: 10 s elapsed",
        "download: done, 1,234 bars in 10 s",
        "training ml_basic: done in 10 s",
    ]
