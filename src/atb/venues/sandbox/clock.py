"""`LockstepClock`: a replay clock that moves only when a client has caught up.

With a wall-clock replay (`--speed`), how many bars pass while a client thinks depends on the
machine; a rehearsal or a crash test is then not reproducible. In lockstep the replay clock
stands still until a client asks `GET /api/v3/klines` for the bar after the newest closed one
and finds nothing: that request answers `[]` and the clock moves on by exactly one bar, so the
*next* request finds the bar. A client that handles each bar fully before it polls again thus
always acts inside the bar that follows, as a backtest does — and time stands still while no
client polls (say, while the client is killed and restarted).

The server's klines route does the advancing (`SandboxServer`, when the exchange's `now_ms` is a
`LockstepClock`); tests may also call `advance` directly. The clock stops at `end_ms`, the close
of the last bar. It is safe to share between the server's threads.
"""

from __future__ import annotations

import threading

__all__ = ["LockstepClock"]


class LockstepClock:
    """A replay clock on bar opens that advances one bar per caught-up poll (module docstring)."""

    def __init__(self, start_ms: int, *, bar_ms: int, end_ms: int) -> None:
        if bar_ms <= 0:
            raise ValueError("bar_ms must be positive")
        if end_ms < start_ms:
            raise ValueError("the clock would end before it starts")
        self.bar_ms = bar_ms
        self.end_ms = end_ms
        self._now = start_ms
        self._lock = threading.Lock()

    def __call__(self) -> int:
        """The replay time, in epoch milliseconds."""
        with self._lock:
            return self._now

    def advance(self, bars: int = 1) -> int:
        """Move on by `bars` bars (never past `end_ms`); the new time."""
        if bars < 0:
            raise ValueError("the clock never goes back")
        with self._lock:
            self._now = min(self._now + bars * self.bar_ms, self.end_ms)
            return self._now

    def advance_from(self, seen_ms: int) -> bool:
        """Move on by one bar if the clock still reads `seen_ms`; whether it moved.

        Two clients that find nothing at the same instant move the clock once, not twice: each
        compares against the time its own answer was computed at.
        """
        with self._lock:
            if self._now != seen_ms or self._now >= self.end_ms:
                return False
            self._now = min(self._now + self.bar_ms, self.end_ms)
            return True
