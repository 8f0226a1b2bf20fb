"""Progress of long-running commands: a live display in a terminal, quiet in a pipe.

Every command that can take noticeable time (`atb backtest`, `atb parity`, `atb live --replay`,
`atb train`, `atb check-strategy`, `atb data download`) reports through `show_progress`, on
**stderr**, so stdout keeps only the command's result and `atb backtest … > out.txt` still shows
the bar.

- **Terminal** (stderr is an interactive terminal): a rich display, removed when the work ends: a
  spinner, the description, then a bar with `done/total unit` and the time remaining when the
  total is known, or a pulsing bar with `done unit` when it is not; always the elapsed time.
  The columns are written for an unknown total, so no total (or a total learnt late) can break
  them.
- **Pipe, file or dumb terminal**: plain lines, never a carriage return or an escape code, and
  nothing at all for work that ends within `LINE_INTERVAL` seconds (a quick command's output in
  a pipe is just its result). Longer work prints one line every `LINE_INTERVAL` seconds,
  `description: done/total unit (pct%), N s elapsed`, and a closing `description: done …` line.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import IO, Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

LINE_INTERVAL = 10.0
"""Seconds between progress lines in a pipe (and before the first one)."""


class ProgressReport(Protocol):
    """What long-running work calls to report how far it got."""

    def update(self, done: int, total: int | None = None) -> None:
        """`done` units so far, out of `total` when it is (now) known."""
        ...

    def advance(self, amount: int = 1) -> None:
        """`amount` more units done."""
        ...

    def stage(self, description: str, *, total: int | None = None) -> None:
        """A new phase of the work (counts start again at 0; `total` None: unknown)."""
        ...

    def describe(self, description: str) -> None:
        """Say what is being done in other words (counts kept), e.g. the best result so far."""
        ...


@contextlib.contextmanager
def show_progress(
    description: str,
    *,
    total: int | None = None,
    unit: str | None = "bars",
    console: Console | None = None,
) -> Iterator[ProgressReport]:
    """Report the progress of the work done inside the `with` block.

    `unit` names what is counted (None: only a spinner and the elapsed time, for work that
    cannot count). `console` defaults to stderr; its being an interactive terminal decides
    between the live display and plain lines.
    """
    console = console or Console(stderr=True)
    if console.is_interactive:
        with _TerminalProgress(description, total=total, unit=unit, console=console) as report:
            yield report
    else:
        lines = LineProgress(description, total=total, unit=unit, stream=console.file)
        yield lines
        lines.finish()


class _CountColumn(ProgressColumn):
    """`done/total unit`, or `done unit` while the total is unknown."""

    def __init__(self, unit: str | None) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        done, total = int(task.completed), _total(task.total)
        if self.unit is None or (total is None and done == 0):
            return Text("")  # nothing counted yet, nothing to count towards: say nothing
        return Text(_count(done, total, self.unit))


class _RemainingColumn(TimeRemainingColumn):
    """Time remaining; blank while the total is unknown (rather than a dashed clock)."""

    def render(self, task: Task) -> Text:
        if task.total is None:
            return Text("")
        return super().render(task)


class _TerminalProgress:
    """The rich display of `show_progress` (one task, removed at the end)."""

    def __init__(
        self, description: str, *, total: int | None, unit: str | None, console: Console
    ) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            # markup=False: descriptions hold file names and symbols, never rich markup.
            TextColumn("{task.description}", markup=False),
            BarColumn(bar_width=30),
            _CountColumn(unit),
            TimeElapsedColumn(),
            _RemainingColumn(),
            console=console,
            transient=True,
        )
        self._task = self._progress.add_task(description, total=total)

    def __enter__(self) -> _TerminalProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def update(self, done: int, total: int | None = None) -> None:
        """See `ProgressReport.update`."""
        if total is None:
            self._progress.update(self._task, completed=done)
        else:
            # Drawn at once: the first frame with the total shows what the work is out of.
            self._progress.update(self._task, completed=done, total=total, refresh=True)

    def advance(self, amount: int = 1) -> None:
        """See `ProgressReport.advance`."""
        self._progress.advance(self._task, amount)

    def describe(self, description: str) -> None:
        """See `ProgressReport.describe`."""
        self._progress.update(self._task, description=description)

    def stage(self, description: str, *, total: int | None = None) -> None:
        """See `ProgressReport.stage`."""
        # A new task rather than `reset`: `reset(total=None)` keeps the old total.
        self._progress.remove_task(self._task)
        self._task = self._progress.add_task(description, total=total)
        self._progress.refresh()  # every stage is on screen at least once, however short


class LineProgress:
    """The pipe form of `show_progress`: a line every `interval` seconds once the work has
    taken that long, and a closing line if any was written; nothing for quick work.

    `clock` (seconds, monotonic) and `stream` are parameters so the behaviour can be shown
    without waiting; commands use the defaults.
    """

    def __init__(
        self,
        description: str,
        *,
        total: int | None = None,
        unit: str | None = "bars",
        stream: IO[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        interval: float = LINE_INTERVAL,
    ) -> None:
        self.description = description
        self.total = total
        self.unit = unit
        self.done = 0
        self._stream = stream
        self._clock = clock
        self._interval = interval
        self._started = clock()
        self._next_line = self._started + interval
        self.lines_written = 0

    def update(self, done: int, total: int | None = None) -> None:
        """See `ProgressReport.update`."""
        self.done = done
        if total is not None:
            self.total = total
        self._maybe_write()

    def advance(self, amount: int = 1) -> None:
        """See `ProgressReport.advance`."""
        self.update(self.done + amount)

    def describe(self, description: str) -> None:
        """See `ProgressReport.describe`."""
        self.description = description

    def stage(self, description: str, *, total: int | None = None) -> None:
        """See `ProgressReport.stage`."""
        self.description, self.total, self.done = description, total, 0
        self._maybe_write()

    def finish(self) -> None:
        """Close with a `done` line, only when progress lines were written before it."""
        if self.lines_written:
            counted = ""
            if self.unit is not None and (self.total is not None or self.done):
                counted = f", {_count(self.done, self.total, self.unit)}"
            self._write(f"{self.description}: done{counted} in {self._elapsed()}")

    def _maybe_write(self) -> None:
        now = self._clock()
        if now < self._next_line:
            return
        self._next_line = now + self._interval
        parts = [self.description]
        if self.unit is not None and (self.total is not None or self.done):
            parts.append(f": {_count(self.done, self.total, self.unit)}")
            if self.total:
                parts.append(f" ({min(self.done / self.total, 1.0):.0%})")
            parts.append(",")
        else:
            parts.append(":")
        parts.append(f" {self._elapsed()} elapsed")
        self._write("".join(parts))

    def _elapsed(self) -> str:
        return f"{self._clock() - self._started:.0f} s"

    def _write(self, line: str) -> None:
        stream = self._stream or sys.stderr
        stream.write(line + "\n")
        stream.flush()
        self.lines_written += 1


def _total(value: float | None) -> int | None:
    return None if value is None else int(value)


def _count(done: int, total: int | None, unit: str) -> str:
    if total is None:
        return f"{done:,} {unit}"
    return f"{done:,}/{total:,} {unit}"
