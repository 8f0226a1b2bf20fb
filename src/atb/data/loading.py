"""Candles for a run: one entry point that picks the source and explains what is missing.

Resolution order for `load_candles`:

1. `data_file` given → that file (CSV or Parquet), validated against the timeframe;
2. symbol `DEMO` → the built-in synthetic market;
3. otherwise the local cache. A series with bars imported from a file is the user's own data
   and is never topped up from the exchange: a window it lacks is a `DataError`. A downloaded
   series has the ranges it does not cover downloaded when the network is allowed. Without
   them, a `DataError` names the missing ranges, what is cached, and how to get data.

Windows are half-open over bar open times, `[start, end)`, with both ends rounded down to bar
boundaries (the bar containing `end` had not closed at `end`). `warmup` adds up to that many
bars before `start` (engines feed them to indicators; DESIGN §5); `ValidatedCandles.warmup_bars`
says how many were available. `--days N` means the N days ending at `end`. Without `end`, files
and DEMO end at their last bar, an imported series (or any cached one with the network off) at
its last cached bar (said in `ValidatedCandles.notes`), and a downloaded series now.

Every result is screened for suspicious prints (`atb.data.outliers`), judged with neighbours
from outside the window too; `drop_outliers=True` removes them (they become reported gaps).
"""

from __future__ import annotations

import functools
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
from atb.data.outliers import NEIGHBOURS, SuspiciousBar, find_suspicious_bars
from atb.data.ranges import TimeRange
from atb.data.symbols import normalize_symbol
from atb.data.times import TimeLike, format_time, from_ms, utc_now, utc_timestamp
from atb.domain.errors import DataError
from atb.domain.timeframes import Timeframe, parse_timeframe

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
    drop_outliers: bool = False,
) -> ValidatedCandles:
    """Validated candles of `symbol`/`timeframe` for `[start, end)` plus `warmup` earlier bars.

    `days` replaces `start` (the window is the `days` days ending at `end`). With `data_file`
    or `DEMO`, missing bounds mean "from the first bar" / "to the last bar". A cached symbol
    without a start starts at its first cached bar. Without `end`, a series imported from a
    file (or any cached series when the network is off) ends at its last cached bar, and
    `notes` says so; a downloaded series ends now, and its missing tail is fetched. A symbol
    with imported bars is never fetched from the exchange: a window it lacks is a `DataError`.
    `client` overrides the exchange client built from `exchange_url`; `progress` is called as
    pages arrive.

    The result is screened for suspicious prints (`suspicious`; `atb.data.outliers`); with
    `drop_outliers` they are removed instead and listed in `dropped` (each one becomes a gap).
    """
    if warmup < 0:
        raise DataError(f"warmup must be >= 0 bars, got {warmup}")
    tf = parse_timeframe(timeframe)
    if data_file is not None:
        candles = read_candles_file(data_file, timeframe=tf)
        selected = _window(
            candles,
            tf,
            start=start,
            end=end,
            days=days,
            warmup=warmup,
            now=now,
            label=str(data_file),
        )
        return _finished(candles, selected, warmup, drop_outliers)
    if is_demo(symbol):
        series = demo_candles(tf)
        selected = _window(
            series,
            tf,
            start=start,
            end=end,
            days=days,
            warmup=warmup,
            now=now,
            label=DEMO_SYMBOL,
        )
        return _finished(series, selected, warmup, drop_outliers)
    pair = normalize_symbol(symbol)
    cache = CandleCache(data_dir)
    imported = cache.is_imported(pair, tf)
    notes: tuple[str, ...] = ()
    if end is None and (imported or not allow_network):
        # The user's own data (or no way to get more): the cache answers, and the run says
        # where it stopped instead of asking the exchange about the time since.
        last = cache.last_bar(pair, tf)
        if last is not None:
            end = last + tf.timedelta
            notes = (f"window ends at the last cached bar {format_time(last)} (no --end given)",)
    if days is not None:
        window = days_window(days, end, now=now)
    elif start is not None:
        window = _ordered(pair, tf, start, end if end is not None else now(), cache)
    else:
        # No start: the cached history is the natural window (e.g. `atb train … --end DATE`
        # after `atb data import`); with nothing cached there is nothing to start from.
        covered = cache.coverage(pair, tf)
        if not covered:
            raise DataError(
                f"{pair} {tf}: nothing is cached yet; give a start (--start or --days) to "
                "download it, or use `atb data import FILE` / `--data FILE`"
            )
        window = _ordered(pair, tf, covered[0].start, end if end is not None else now(), cache)
    window = _aligned(window, tf)
    if window.empty:
        raise DataError(
            f"{pair} {tf}: the window {window.describe()} holds no whole bar; "
            f"cached bars: {_cached_span(cache, pair, tf)}"
        )
    fetch = TimeRange(window.start - tf.timedelta * warmup, window.end)
    if imported:
        # Warm-up bars come from the cache when it has them; only the window itself must be
        # there. Nothing is fetched: the exchange's bars would silently mix with the file's.
        lacking = cache.missing(pair, tf, window)
        if lacking:
            raise DataError(_outside_import(cache, pair, tf, window))
    else:
        missing = cache.missing(pair, tf, _until_now(fetch, tf, now()))
        explain = functools.partial(_not_available, cache, pair, tf, asked=fetch, window=window)
        if missing and not allow_network:
            raise DataError(explain(missing, reason="the network is off"))
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
                # Finished months were kept: name only what is still missing.
                missing = cache.missing(pair, tf, _until_now(fetch, tf, now())) or missing
                raise DataError(
                    f"{explain(missing, reason='fetching failed')} The exchange said: {error}"
                ) from error
    margin = tf.timedelta * NEIGHBOURS
    context = cache.load(pair, tf, TimeRange(fetch.start - margin, window.end + margin))
    selected = context.select(fetch.start, window.end).select(
        window.start, window.end, warmup=warmup
    )
    if len(selected) - selected.warmup_bars == 0:
        raise DataError(
            f"no {pair} {tf} candles in {window.describe()}: the cache covers that time but "
            "holds no bar there (an exchange outage, or a gap in the imported file); pick "
            "another window"
        )
    selected = attrs.evolve(
        selected, source=f"{pair} {tf} (cache {cache.directory(pair, tf)})", notes=notes
    )
    return _finished(context, selected, warmup, drop_outliers)


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
    available = TimeRange(first, last + tf.timedelta)
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
    return TimeRange(window.start.floor(tf.timedelta), window.end.floor(tf.timedelta))


def _until_now(window: TimeRange, tf: Timeframe, now: pd.Timestamp) -> TimeRange:
    """`window` without the bars that cannot have closed yet (by our own clock)."""
    closed = now.floor(tf.timedelta)
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


def _finished(
    context: ValidatedCandles, selected: ValidatedCandles, warmup: int, drop: bool
) -> ValidatedCandles:
    """`selected` (a slice of `context`) screened for suspicious prints, with its notes.

    Neighbours come from `context`, so the bars at the window's edges are judged like any other.
    """
    flagged: tuple[SuspiciousBar, ...] = ()
    if len(selected):
        lo = int(context.index.searchsorted(selected.index[0]))
        flagged = find_suspicious_bars(context.frame, first=lo, stop=lo + len(selected))
    screened = attrs.evolve(selected, suspicious=flagged)
    if drop:
        screened = screened.drop_suspicious()
    if screened.warmup_bars < warmup and len(screened) > screened.warmup_bars:
        first = format_time(screened.index[screened.warmup_bars])
        note = f"only {screened.warmup_bars} of {warmup} warm-up bars exist before {first}"
        screened = attrs.evolve(screened, notes=(*screened.notes, note))
    return screened


def _ordered(
    symbol: str, tf: Timeframe, start: TimeLike, end: TimeLike, cache: CandleCache
) -> TimeRange:
    """`[start, end)`, or a `DataError` naming the cached span when the start is after the end."""
    first, last = utc_timestamp(start), utc_timestamp(end)
    if last < first:
        raise DataError(
            f"{symbol} {tf}: the window would start at {format_time(first)}, after its end "
            f"{format_time(last)}; cached bars: {_cached_span(cache, symbol, tf)}"
        )
    return TimeRange(first, last)


def _cached_span(cache: CandleCache, symbol: str, tf: Timeframe) -> str:
    coverage = cache.coverage(symbol, tf)
    return ", ".join(r.describe() for r in coverage) if coverage else "none"


def _outside_import(cache: CandleCache, symbol: str, tf: Timeframe, window: TimeRange) -> str:
    """One line: the window asked for, the imported ranges there are, and how to get more."""
    return (
        f"{symbol} {tf}: asked for {window.describe()}, but the cache holds "
        f"{_cached_span(cache, symbol, tf)} (imported from a file, so atb does not fetch it "
        "from the exchange); pick a window inside it, import a file that covers it "
        f"(`atb data import FILE --symbol {symbol} --timeframe {tf}`), or download it "
        f"explicitly (`atb data download --symbol {symbol} --timeframe {tf} --days N`)"
    )


def _not_available(
    cache: CandleCache,
    symbol: str,
    tf: Timeframe,
    missing: tuple[TimeRange, ...],
    *,
    reason: str,
    asked: TimeRange,
    window: TimeRange,
) -> str:
    """One line: the missing ranges, what was asked for, what is cached, and what to do.

    `asked` is `window` plus its warm-up bars, so it always differs from the cached ranges
    (part of it is missing); the message says when warm-up bars widened it.
    """
    warm = f", incl. warm-up bars before {format_time(window.start)}" if asked != window else ""
    coverage = cache.coverage(symbol, tf)
    have = (
        "available locally: " + ", ".join(r.describe() for r in coverage)
        if coverage
        else f"nothing cached in {cache.directory(symbol, tf)}"
    )
    return (
        f"no {symbol} {tf} candles for {', '.join(r.describe() for r in missing)} (asked for "
        f"{asked.describe()}{warm}; {reason}); {have}. Get data with `atb data download "
        f"--symbol {symbol} --timeframe {tf} --days N`, "
        f"`atb data import FILE --symbol {symbol} --timeframe {tf}`, or pass `--data FILE`."
    )
