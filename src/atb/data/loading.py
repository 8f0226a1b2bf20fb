"""Candles for a run: one entry point that picks the source and explains what is missing.

Resolution order for `load_candles`:

1. `data_file` given → that file (CSV or Parquet), validated against the timeframe;
2. symbol `DEMO` → the built-in synthetic market;
3. otherwise the local cache; ranges it does not cover are downloaded from the exchange when
   the network is allowed. Without them, a `DataError` says which range was asked for, which
   ranges are available locally, and how to get data.

Windows are half-open over bar open times, `[start, end)`, with both ends rounded down to bar
boundaries (the bar containing `end` had not closed at `end`). `warmup` adds up to that many
bars before `start` (engines feed them to indicators; DESIGN §5); `ValidatedCandles.warmup_bars`
says how many were available. `--days N` means the N days ending at `end` (default: now).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import attrs
import pandas as pd

from atb.data.binance import BinanceClient, Progress, closed_end_ms
from atb.data.cache import CandleCache
from atb.data.candles import ValidatedCandles
from atb.data.demo import DEMO_SYMBOL, demo_candles, is_demo
from atb.data.exchange_rules import refresh_exchange_rules
from atb.data.files import read_candles_file
from atb.data.ranges import TimeRange
from atb.data.symbols import normalize_symbol
from atb.data.timeframes import Timeframe, parse_timeframe
from atb.data.times import TimeLike, format_time, from_ms, utc_now, utc_timestamp
from atb.domain.errors import DataError

Clock = Callable[[], pd.Timestamp]
"""Returns the current UTC time (injected so tests and replays control it)."""


def days_window(days: int, end: TimeLike | None = None, *, now: Clock = utc_now) -> TimeRange:
    """The `days` days ending at `end` (default: `now()`), as `[end - days, end)`."""
    if days <= 0:
        raise DataError(f"--days must be a positive number of days, got {days}")
    stop = utc_timestamp(end) if end is not None else now()
    return TimeRange(stop - pd.Timedelta(days=days), stop)


def load_candles(
    symbol: str,
    timeframe: str | Timeframe,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    *,
    days: int | None = None,
    warmup: int = 0,
    data_file: str | Path | None = None,
    data_dir: str | Path | None = None,
    exchange_url: str | None = None,
    allow_network: bool = True,
    client: BinanceClient | None = None,
    progress: Progress | None = None,
    now: Clock = utc_now,
) -> ValidatedCandles:
    """Validated candles of `symbol`/`timeframe` for `[start, end)` plus `warmup` earlier bars.

    `days` replaces `start` (the window is the `days` days ending at `end`). With `data_file`
    or `DEMO`, missing bounds mean "from the first bar" / "to the last bar"; an exchange symbol
    needs a start (`start` or `days`) and `end` defaults to now. `client` overrides the
    exchange client built from `exchange_url`; `progress` is called as pages arrive.
    """
    if warmup < 0:
        raise DataError(f"warmup must be >= 0 bars, got {warmup}")
    tf = parse_timeframe(timeframe)
    if data_file is not None:
        candles = read_candles_file(data_file, timeframe=tf)
        return _window(
            candles,
            tf,
            start=start,
            end=end,
            days=days,
            warmup=warmup,
            now=now,
            label=str(data_file),
        )
    if is_demo(symbol):
        return _window(
            demo_candles(tf),
            tf,
            start=start,
            end=end,
            days=days,
            warmup=warmup,
            now=now,
            label=DEMO_SYMBOL,
        )
    pair = normalize_symbol(symbol)
    if days is not None:
        window = days_window(days, end, now=now)
    elif start is not None:
        window = TimeRange(start, utc_timestamp(end) if end is not None else now())
    else:
        # No start: the cached history is the natural window (e.g. `atb train … --end DATE`
        # after `atb data import`); with nothing cached there is nothing to start from.
        covered = CandleCache(data_dir).coverage(pair, tf)
        if not covered:
            raise DataError(
                f"{pair} {tf}: nothing is cached yet; give a start (--start or --days) to "
                "download it, or use `atb data import FILE` / `--data FILE`"
            )
        window = TimeRange(covered[0].start, utc_timestamp(end) if end is not None else now())
    window = _aligned(window, tf)
    fetch = TimeRange(window.start - tf.pandas_offset * warmup, window.end)
    cache = CandleCache(data_dir)
    missing = cache.missing(pair, tf, _until_now(fetch, tf, now()))
    if missing and not allow_network:
        raise DataError(_not_available(cache, pair, tf, window, "the network is off"))
    if missing:
        try:
            download_ranges(
                cache,
                pair,
                tf,
                missing,
                client=client,
                exchange_url=exchange_url,
                progress=progress,
                now=now,
            )
        except DataError as error:
            raise DataError(f"{error}\n{_not_available(cache, pair, tf, window, '')}") from error
    candles = cache.load(pair, tf, fetch).select(window.start, window.end, warmup=warmup)
    if len(candles) - candles.warmup_bars == 0:
        raise DataError(_not_available(cache, pair, tf, window, "the exchange has no bars there"))
    return attrs.evolve(candles, source=f"{pair} {tf} (cache {cache.directory(pair, tf)})")


def download_ranges(
    cache: CandleCache,
    symbol: str,
    timeframe: str | Timeframe,
    ranges: tuple[TimeRange, ...],
    *,
    client: BinanceClient | None = None,
    exchange_url: str | None = None,
    progress: Progress | None = None,
    now: Clock = utc_now,
) -> int:
    """Fetch `ranges` from the exchange into `cache`, one calendar month at a time.

    Each month is stored (atomically) as soon as it is complete, so an interrupted download
    keeps what it finished and resumes from there. Returns the number of bars fetched.
    """
    tf = parse_timeframe(timeframe)
    owned = client is None
    exchange = client if client is not None else BinanceClient(exchange_url)
    try:
        # The server clock is read once, before any kline request: bars it calls closed stay
        # closed, so the coverage recorded below never includes a forming bar.
        server_ms = exchange.server_time_ms()
        closed = from_ms(closed_end_ms(server_ms, tf))
        fetched = 0
        for chunk in (piece for wanted in ranges for piece in _months(wanted)):
            candles = exchange.fetch_klines(
                symbol,
                tf,
                chunk.start_ms,
                chunk.end_ms,
                server_time_ms=server_ms,
                progress=progress,
            )
            covered = TimeRange(chunk.start, max(chunk.start, min(chunk.end, closed)))
            cache.store(
                symbol,
                candles,
                source=f"binance {exchange.base_url}",
                fetched_at=now(),
                covered=covered,
            )
            fetched += len(candles)
        # The market's trading rules travel with its candles (atb.data.instruments uses them).
        refresh_exchange_rules(exchange, cache.root, symbol, fetched_at=now())
        return fetched
    finally:
        if owned:
            exchange.close()


def missing_ranges(
    cache: CandleCache,
    symbol: str,
    timeframe: str | Timeframe,
    window: TimeRange,
    *,
    now: Clock = utc_now,
) -> tuple[TimeRange, ...]:
    """Parts of `window` (bar-aligned, capped at now) that the cache does not cover yet."""
    tf = parse_timeframe(timeframe)
    return cache.missing(symbol, tf, _until_now(_aligned(window, tf), tf, now()))


def _window(
    candles: ValidatedCandles,
    tf: Timeframe,
    *,
    start: TimeLike | None,
    end: TimeLike | None,
    days: int | None,
    warmup: int,
    now: Clock,
    label: str,
) -> ValidatedCandles:
    """Slice a whole series (file or DEMO); a window reaching outside it is a `DataError`."""
    first, last = candles.first, candles.last
    if first is None or last is None:
        raise DataError(f"{label}: no candles")
    available = TimeRange(first, last + tf.pandas_offset)
    if days is not None:
        # DEMO and files end in the past: "the last N days" means the last N days they hold.
        window = days_window(days, end if end is not None else available.end, now=now)
    else:
        window = TimeRange(
            start if start is not None else available.start,
            end if end is not None else available.end,
        )
    window = _aligned(window, tf)
    if window.start < available.start or window.end > available.end or window.empty:
        raise DataError(
            f"{label} {tf}: asked for {window.describe()}, but it holds {available.describe()}"
            f"{' (synthetic DEMO market)' if candles.synthetic else ''}; "
            "pick a window inside it"
        )
    return candles.select(window.start, window.end, warmup=warmup)


def _aligned(window: TimeRange, tf: Timeframe) -> TimeRange:
    """Round both ends down to bar boundaries.

    The bar containing `start` is included; the bar containing `end` is not (at `end` it had
    not closed yet), so `--days 30` ending now gives exactly 30 days of closed bars.
    """
    return TimeRange(window.start.floor(tf.pandas_offset), window.end.floor(tf.pandas_offset))


def _until_now(window: TimeRange, tf: Timeframe, now: pd.Timestamp) -> TimeRange:
    """`window` without the bars that cannot have closed yet (by our own clock)."""
    closed = now.floor(tf.pandas_offset)
    return TimeRange(window.start, max(window.start, min(window.end, closed)))


def _months(window: TimeRange) -> list[TimeRange]:
    """`window` cut at calendar-month boundaries (one cache file per piece)."""
    pieces = []
    cursor = window.start
    while cursor < window.end:
        boundary = cursor.normalize().replace(day=1) + pd.DateOffset(months=1)
        stop = min(window.end, boundary)
        pieces.append(TimeRange(cursor, stop))
        cursor = stop
    return pieces


def _not_available(
    cache: CandleCache, symbol: str, tf: Timeframe, window: TimeRange, reason: str
) -> str:
    coverage = cache.coverage(symbol, tf)
    have = (
        "available locally: " + ", ".join(r.describe() for r in coverage)
        if coverage
        else f"nothing cached in {cache.directory(symbol, tf)}"
    )
    why = f" ({reason})" if reason else ""
    return (
        f"no {symbol} {tf} candles for {format_time(window.start)} → {format_time(window.end)}"
        f"{why}; {have}. Get data with `atb data download --symbol {symbol} --timeframe {tf} "
        f"--days N`, `atb data import FILE --symbol {symbol} --timeframe {tf}`, "
        "or pass `--data FILE`."
    )
