"""`atb data`: import files into the candle cache, download from the exchange, list the cache.

A thin layer over `atb.data`. Heavy imports (pandas, httpx) happen inside the commands so that
`atb --help` stays quick.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from atb.cli.candle_report import drop_outliers_option, echo_candles_report
from atb.cli.option_types import DATETIME, EXCHANGE_URL, TIMEFRAME, file_path, folder_path
from atb.domain.errors import DataError

if TYPE_CHECKING:
    from rich.console import Console

    from atb.data.cache import CandleCache
    from atb.data.gaps import Gap

_DATA_DIR_KEY = "atb.data.data_dir"
_MAX_GAPS_SHOWN = 5


@click.group("data")
@click.option(
    "--data-dir",
    type=folder_path(),
    default=None,
    help="Cache location (default: $ATB_DATA_DIR, else the user data directory).",
)
@click.pass_context
def data(ctx: click.Context, data_dir: Path | None) -> None:
    """Market data: import, download and list cached candles."""
    ctx.meta[_DATA_DIR_KEY] = data_dir


@data.command("import")
@click.argument("file", type=file_path())
@click.option("--symbol", required=True, help="Symbol to file the candles under, e.g. BTCUSDT.")
@click.option(
    "--timeframe", type=TIMEFRAME, required=True, help="Bar length: 1m 3m 5m 15m 30m 1h … 1d."
)
@click.option("--repair", is_flag=True, help="Sort rows and drop exact duplicates, reporting it.")
@click.option(
    "--replace", is_flag=True, help="Overwrite cached bars whose values the file changes."
)
@drop_outliers_option
@click.pass_context
def import_file(
    ctx: click.Context,
    file: Path,
    symbol: str,
    timeframe: str,
    repair: bool,
    replace: bool,
    drop_outliers: bool,
) -> None:
    """Validate a CSV or Parquet FILE and copy its candles into the cache.

    Bars that differ from cached ones are refused unless --replace is given; imported symbols
    are never fetched from the exchange by the commands that read them.
    """
    from atb.data.files import read_candles_file
    from atb.data.importing import import_candles
    from atb.data.times import utc_now

    pair = _exchange_symbol(symbol)
    cache = _writable_cache(ctx)
    candles = read_candles_file(file, timeframe=timeframe, repair=repair)
    report = import_candles(
        cache,
        pair,
        candles,
        file=file,
        fetched_at=utc_now(),
        replace=replace,
        drop_outliers=drop_outliers,
    )
    imported = report.candles
    click.echo(
        f"imported {len(imported)} {pair} {imported.timeframe} bars from {file}: "
        f"{_span(imported.first, imported.last)}"
    )
    click.echo(f"{report.describe_changes()}{' (replaced)' if report.changed else ''}")
    if candles.repairs.any:
        click.echo(f"repaired: {candles.repairs.describe()}")
    echo_candles_report(imported)
    _echo_gaps(imported.gaps)
    click.echo(f"cache: {cache.directory(pair, timeframe)}")


@data.command("download")
@click.option("--symbol", required=True, help="Exchange symbol, e.g. BTCUSDT.")
@click.option(
    "--timeframe", type=TIMEFRAME, required=True, help="Bar length: 1m 3m 5m 15m 30m 1h … 1d."
)
@click.option("--days", type=click.IntRange(min=1), required=True, help="Days of history.")
@click.option(
    "--end", type=DATETIME, default=None, help="End of the window (ISO-8601, UTC; default: now)."
)
@click.option(
    "--exchange-url",
    type=EXCHANGE_URL,
    default=None,
    help="Exchange REST base URL (default: $ATB_BINANCE_URL, else https://api.binance.com).",
)
@click.pass_context
def download(
    ctx: click.Context,
    *,
    symbol: str,
    timeframe: str,
    days: int,
    end: str | None,
    exchange_url: str | None,
) -> None:
    """Fill the cache with the DAYS days ending at END; cached ranges are not fetched again.

    SIGINT/SIGTERM stop it at once: the months completed so far stay cached (each is written
    atomically), a one-line message says so, and the exit code is 128 + the signal number.
    """
    from atb.cli.progress import show_progress
    from atb.cli.stop_signals import describe_stop, stop_exit_code, stop_signals
    from atb.data.binance import BinanceClient
    from atb.data.loading import days_window, download_ranges, missing_ranges
    from atb.data.stop_token import StopRequested
    from atb.domain.timeframes import parse_timeframe

    pair = _exchange_symbol(symbol)
    tf = parse_timeframe(timeframe)
    cache = _writable_cache(ctx)
    window = days_window(days, end)
    missing = missing_ranges(cache, pair, tf, window)
    if not missing:
        click.echo(f"{pair} {tf}: {window.describe()} is already cached; nothing to download")
        return
    total = sum((r.end - r.start) // tf.timedelta for r in missing)
    stop = ctx.with_resource(stop_signals())
    client = ctx.with_resource(BinanceClient(exchange_url, stop=stop))
    try:
        with show_progress(f"download {pair} {tf}", total=total) as progress:
            fetched = download_ranges(
                cache, pair, tf, missing, client=client, progress=progress.advance
            )
    except StopRequested:
        # The progress display is gone (its context has closed) before the message.
        click.echo(
            f"download stopped by {describe_stop(stop)}: the months completed so far are "
            "cached; run the same command again to fetch the rest",
            err=True,
        )
        sys.exit(stop_exit_code(stop))
    click.echo(f"downloaded {fetched} {pair} {tf} bars for {window.describe()}")
    entry = next((e for e in cache.entries() if (e.symbol, e.timeframe) == (pair, tf)), None)
    if entry is not None and entry.first is not None and entry.last is not None:
        click.echo(f"cache now holds {entry.bars} bars: {_span(entry.first, entry.last)}")
        _echo_gaps(entry.gaps)


@data.command("list")
@click.pass_context
def list_cache(ctx: click.Context) -> None:
    """Show what the cache holds per symbol and timeframe, with ranges and gaps."""
    from rich.table import Table

    from atb.data.demo import DEMO_RANGE, DEMO_SYMBOL

    cache = _cache(ctx)
    entries = cache.entries()
    console = _console()
    if not entries:
        click.echo(f"the cache at {cache.root} is empty; use `atb data download` or `import`")
    else:
        table = Table(title=f"candle cache: {cache.root}")
        for column in ("symbol", "timeframe", "bars", "first", "last", "gaps", "source"):
            table.add_column(column, justify="right" if column == "bars" else "left")
        for entry in entries:
            gaps = f"{len(entry.gaps)} ({sum(g.missing_bars for g in entry.gaps)} bars)"
            table.add_row(
                entry.symbol,
                entry.timeframe.name,
                str(entry.bars),
                _time(entry.first),
                _time(entry.last),
                gaps if entry.gaps else "none",
                ", ".join(entry.sources),
            )
        console.print(table)
        for entry in entries:
            covered = ", ".join(r.describe() for r in entry.coverage)
            click.echo(f"{entry.symbol} {entry.timeframe}: covered {covered or 'nothing'}")
            _echo_gaps(entry.gaps, indent="  ")
    click.echo(f"{DEMO_SYMBOL}: built-in synthetic market, any timeframe, {DEMO_RANGE.describe()}")


def _exchange_symbol(symbol: str) -> str:
    from atb.data.demo import is_demo
    from atb.data.symbols import normalize_symbol

    if is_demo(symbol):
        raise DataError("DEMO is the built-in synthetic market; there is nothing to store for it")
    return normalize_symbol(symbol)


def _cache(ctx: click.Context) -> CandleCache:
    from atb.data.cache import CandleCache

    data_dir = ctx.meta.get(_DATA_DIR_KEY)
    return CandleCache(data_dir if isinstance(data_dir, Path) else None)


def _writable_cache(ctx: click.Context) -> CandleCache:
    """The cache a command is about to fill, refused up front when its folder is read-only."""
    from atb.cli.output_folder import check_writable_folder

    cache = _cache(ctx)
    given = ctx.meta.get(_DATA_DIR_KEY) is not None
    what = f"--data-dir {cache.root}" if given else f"the data folder {cache.root}"
    check_writable_folder(cache.root, what=what)
    return cache


def _console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    console = Console(stderr=stderr)
    # Piped output is not squeezed to 80 columns: the table stays one line per series.
    return console if console.is_terminal else Console(stderr=stderr, width=200)


def _time(value: object) -> str:
    import pandas as pd

    from atb.data.times import format_time

    return format_time(value) if isinstance(value, pd.Timestamp) else "-"


def _span(first: object, last: object) -> str:
    return f"{_time(first)} → {_time(last)}"


def _echo_gaps(gaps: tuple[Gap, ...], *, indent: str = "") -> None:
    if not gaps:
        return
    missing = sum(gap.missing_bars for gap in gaps)
    click.echo(f"{indent}{len(gaps)} gap(s), {missing} bar(s) missing (not filled in):")
    for gap in gaps[:_MAX_GAPS_SHOWN]:
        click.echo(f"{indent}  {gap.describe()}")
    if len(gaps) > _MAX_GAPS_SHOWN:
        click.echo(f"{indent}  … and {len(gaps) - _MAX_GAPS_SHOWN} more")
