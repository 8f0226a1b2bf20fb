"""`BarAlignment`: when a live portfolio steps a bar time, and with which symbols.

A portfolio steps bar times in order, each once, with every symbol that has a bar at that time
(ADR 0017). Live, the symbols' bars arrive separately, so the engine hands each symbol's newly
closed bars here and steps what this releases. The earliest bar time not yet stepped is released
when every symbol is settled for it:

- **present**: the symbol's bar of that time has arrived;
- **absent**: the symbol already delivered a *later* bar (feeds deliver in time order, so no bar
  of that time will come: the exchange has none — a gap, or a symbol not listed yet), or its
  feed has ended (a replay that ran out);
- **behind**: its feed's clock has not reached the end of that bar yet (a replay that serves
  one bar per poll, a feed that has not been asked since): it is waited for, however long;
- **late**: its feed's clock is past the end of that bar and the bar did not come. It is
  waited for `late_after` seconds (from the first poll that found it late); then the time is
  stepped without the symbol, which counts as absent there. Its bar, if it comes later, is
  dropped and reported (`offer` returns it) — a stepped bar time is never stepped again, so
  the account never acts on a bar out of order.

Absent symbols are handled as in a backtest (not stepped; marked at their last close), so a
replay, where every feed answers at once, releases exactly the backtest's bar times and
present symbols. Times come from the caller's monotonic clock; nothing here waits or reads one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

import attrs

from atb.domain.bars import Bar

__all__ = ["BarAlignment", "ReadyTime"]


@attrs.frozen(slots=True)
class ReadyTime:
    """A bar time to step: the bars of the symbols present, in symbol order, and the symbols
    stepped without because their bar was late."""

    time: datetime
    bars: Mapping[str, Bar]
    late: tuple[str, ...] = ()


class BarAlignment:
    """Queues each symbol's closed bars and releases bar times once every symbol is settled."""

    def __init__(
        self,
        symbols: Sequence[str],
        *,
        interval: timedelta,
        late_after: float,
        last_time: datetime | None = None,
    ) -> None:
        if late_after < 0:
            raise ValueError(f"late_after must be >= 0, got {late_after}")
        self.symbols = tuple(sorted(symbols))
        self.interval = interval
        self.late_after = late_after
        self.last_time = last_time
        """The last bar time released (or stepped before a restart)."""
        self._queues: dict[str, deque[Bar]] = {symbol: deque() for symbol in self.symbols}
        self._newest: dict[str, datetime | None] = dict.fromkeys(self.symbols)
        self._ended: set[str] = set()
        self._clocks: dict[str, datetime | None] = dict.fromkeys(self.symbols)
        self._late_since: dict[datetime, float] = {}

    def offer(self, symbol: str, bars: Iterable[Bar], server_time: datetime) -> list[Bar]:
        """Take `symbol`'s newly closed bars (in time order) and its feed's clock at the poll;
        returns the bars that came too late: their bar time was already stepped. A bar not
        after the symbol's newest is a repeat and is ignored."""
        self._clocks[symbol] = server_time
        dropped: list[Bar] = []
        queue = self._queues[symbol]
        for bar in bars:
            newest = self._newest[symbol]
            if newest is not None and bar.time <= newest:
                continue
            self._newest[symbol] = bar.time
            if self.last_time is not None and bar.time <= self.last_time:
                dropped.append(bar)
                continue
            queue.append(bar)
        return dropped

    def end(self, symbol: str) -> None:
        """No more bars will come for `symbol` (its replay ran out)."""
        self._ended.add(symbol)

    @property
    def waiting(self) -> int:
        """Bars queued and not yet released."""
        return sum(len(queue) for queue in self._queues.values())

    @property
    def exhausted(self) -> bool:
        """Every symbol's feed has ended and every bar was released."""
        return len(self._ended) == len(self.symbols) and self.waiting == 0

    def ready(self, now: float) -> list[ReadyTime]:
        """Every bar time that can be stepped now, in order (see the module docstring)."""
        released: list[ReadyTime] = []
        while True:
            heads = [queue[0].time for queue in self._queues.values() if queue]
            if not heads:
                return released
            time = min(heads)
            late: list[str] = []
            for symbol in self.symbols:
                queue = self._queues[symbol]
                if queue or symbol in self._ended:
                    continue  # present (head at `time`) or absent (a later head, or ended)
                clock = self._clocks[symbol]
                if clock is None or clock < time + self.interval:
                    return released  # behind: its feed has not reached this bar's close
                late.append(symbol)
            if late and now - self._late_since.setdefault(time, now) < self.late_after:
                return released
            bars = {
                symbol: self._queues[symbol].popleft()
                for symbol in self.symbols
                if self._queues[symbol] and self._queues[symbol][0].time == time
            }
            self._late_since.pop(time, None)
            self.last_time = time
            released.append(ReadyTime(time, bars, tuple(late)))
