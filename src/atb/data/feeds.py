"""Candle feeds for the live engine: the exchange (polled) and a replay of stored candles.

Both implement the `atb.ports.CandleFeed` port.

A feed hands out **closed** bars only, each once, in time order. The exchange feed judges a bar
closed by the exchange's server time, never by the local clock, so a test server with an
accelerated clock drives the engine quickly and a skewed local clock cannot make the engine
trade a still-forming candle.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from atb.data.bars import bars_from_frame
from atb.data.binance import BinanceClient, closed_end_ms
from atb.data.candles import ValidatedCandles
from atb.domain.bars import Bar
from atb.domain.timeframes import Timeframe
from atb.domain.timestamps import from_ns, to_ns
from atb.ports import FeedBatch


def _ms(when: datetime) -> int:
    return to_ns(when) // 1_000_000


def _from_ms(value: int) -> datetime:
    return from_ns(value * 1_000_000)


class ExchangeFeed:
    """Polls a Binance-compatible REST API for newly closed klines.

    Missing bars inside a batch are fetched once more before being reported as a gap (an
    exchange can be late to publish, or genuinely have none: the sample has a 2-hour outage).
    Duplicates and out-of-order klines are dropped by the client's validation (repair mode) and
    by only accepting bars after the last one handed out.
    """

    def __init__(self, client: BinanceClient, symbol: str, timeframe: Timeframe) -> None:
        self.client = client
        self.symbol = symbol
        self.timeframe = timeframe
        self.step = timeframe.timedelta

    @property
    def finished(self) -> bool:
        """An exchange never finishes."""
        return False

    def server_time(self) -> datetime:
        """The exchange clock."""
        return _from_ms(self.client.server_time_ms())

    def history(self, before: datetime | None, bars: int) -> list[Bar]:
        """Closed bars before `before` (default: now), fetching extra to bridge gaps."""
        now = self.client.server_time_ms()
        end = closed_end_ms(now, self.timeframe)
        if before is not None:
            end = min(end, _ms(before))
        start = end - 2 * bars * self.timeframe.milliseconds
        candles = self.client.fetch_klines(
            self.symbol, self.timeframe, start, end, server_time_ms=now
        )
        return bars_from_frame(candles.frame)[-bars:] if bars else []

    def poll(self, after: datetime | None) -> FeedBatch:
        """Bars closed since `after`; a hole is fetched a second time before it is reported."""
        now = self.client.server_time_ms()
        end = closed_end_ms(now, self.timeframe)
        start = end - self.timeframe.milliseconds if after is None else _ms(after + self.step)
        if start >= end:
            if now % self.timeframe.milliseconds == 0:
                # A clock standing exactly on a bar's open is a lockstep sandbox's (`atb
                # sandbox --lockstep`: it moves on when a client asks for the bar it does not
                # have yet), practically never a real exchange's: ask for the next bar.
                self.client.ask_next(self.symbol, self.timeframe, start)
            return FeedBatch((), _from_ms(now))
        bars = self._fetch(start, end, now)
        missing = _missing(bars, after, self.step)
        if missing:
            bars = self._fetch(start, end, now)
            missing = _missing(bars, after, self.step)
        return FeedBatch(tuple(bars), _from_ms(now), missing)

    def detail(self, bar: Bar, timeframe: Timeframe) -> list[Bar]:
        """The finer candles of a closed bar, fetched from the exchange."""
        start = _ms(bar.time)
        candles = self.client.fetch_klines(
            self.symbol, timeframe, start, start + self.timeframe.milliseconds
        )
        return bars_from_frame(candles.frame)

    def _fetch(self, start_ms: int, end_ms: int, now_ms: int) -> list[Bar]:
        candles: ValidatedCandles = self.client.fetch_klines(
            self.symbol, self.timeframe, start_ms, end_ms, server_time_ms=now_ms
        )
        return bars_from_frame(candles.frame)


def _missing(
    bars: Sequence[Bar], after: datetime | None, step: timedelta
) -> tuple[tuple[datetime, int], ...]:
    gaps: list[tuple[datetime, int]] = []
    previous = after
    for bar in bars:
        if previous is not None and bar.time - previous > step:
            gaps.append((previous + step, int((bar.time - previous) / step) - 1))
        previous = bar.time
    return tuple(gaps)


class ReplayFeed:
    """Plays a stored or file candle frame through the feed interface (dry runs, tests).

    The first `history_bars` rows are the warm-up history; the rest are handed out in order,
    `bars_per_poll` at a time, optionally `pace` seconds apart.
    """

    def __init__(
        self,
        candles: ValidatedCandles,
        *,
        history_bars: int,
        bars_per_poll: int = 1_000_000,
        pace: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
        detail: ValidatedCandles | None = None,
    ) -> None:
        self.bars = bars_from_frame(candles.frame)
        self.detail_bars = [] if detail is None else bars_from_frame(detail.frame)
        self._detail_times = [fine.time for fine in self.detail_bars]
        self.history_bars = min(history_bars, len(self.bars))
        self.bars_per_poll = bars_per_poll
        self.pace = pace
        self._sleep = sleep
        self._served = self.history_bars
        step = candles.timeframe.timedelta if candles.timeframe else timedelta(0)
        self.step = step

    @property
    def finished(self) -> bool:
        """True once every bar has been handed out."""
        return self._served >= len(self.bars)

    def server_time(self) -> datetime:
        """Close time of the last bar handed out (the replay's simulated now)."""
        if self._served == 0:
            return datetime.fromtimestamp(0, tz=UTC)
        return self.bars[self._served - 1].time + self.step

    def history(self, before: datetime | None, bars: int) -> list[Bar]:
        """The warm-up rows (or the rows before `before`)."""
        rows = self.bars[: self.history_bars]
        if before is not None:
            rows = [bar for bar in self.bars if bar.time < before]
        return rows[-bars:] if bars else []

    def detail(self, bar: Bar, timeframe: Timeframe) -> list[Bar]:
        """The replay's finer candles inside `bar` (empty without a detail series)."""
        first = bisect.bisect_left(self._detail_times, bar.time)
        last = bisect.bisect_left(self._detail_times, bar.time + self.step)
        return self.detail_bars[first:last]

    def poll(self, after: datetime | None) -> FeedBatch:
        """The next bars after `after` (resuming a session skips what it already processed)."""
        if self.pace and self._served > self.history_bars:
            self._sleep(self.pace)
        if after is not None:
            while self._served < len(self.bars) and self.bars[self._served].time <= after:
                self._served += 1
        batch = self.bars[self._served : self._served + self.bars_per_poll]
        self._served += len(batch)
        gaps = _missing(batch, after, self.step) if self.step else ()
        return FeedBatch(tuple(batch), self.server_time(), gaps)
