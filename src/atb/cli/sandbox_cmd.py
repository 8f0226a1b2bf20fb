"""`atb sandbox FILE`: a local Binance-compatible exchange replaying a candle file.

Rehearse a live session offline: the sandbox serves the file's candles as an exchange would
(closed bars only, on an accelerated clock — or, with `--lockstep`, one bar per caught-up
klines request) and accepts signed spot orders from any Binance client — ccxt, or
`atb live --exchange-url` — matching them against the price path. `--clock-skew` shifts the
clock it checks request timestamps against. It runs until Ctrl-C, then prints what happened.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

import click

from atb.cli.option_types import NON_NEGATIVE, POSITIVE, TIMEFRAME, file_path
from atb.cli.run_options import instrument_options, resolve_run_instrument
from atb.cli.stop_signals import stop_signals
from atb.data.bars import bars_from_frame
from atb.data.loading import load_candles
from atb.data.symbols import normalize_symbol
from atb.domain.errors import AtbError
from atb.domain.timeframes import parse_timeframe
from atb.venues.sandbox.clock import LockstepClock
from atb.venues.sandbox.exchange import SandboxExchange
from atb.venues.sandbox.faults import FaultPlan, parse_fault_rates
from atb.venues.sandbox.server import SandboxServer


@click.command("sandbox")
@click.argument("data_file", metavar="FILE", type=file_path())
@click.option("--symbol", required=True, help="The pair the file holds, e.g. BTCUSDT.")
@click.option("--timeframe", type=TIMEFRAME, default="1h", show_default=True, help="Bar length.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port (0: any free one).")
@click.option(
    "--speed",
    type=POSITIVE,
    help="Replayed seconds per real second (default: one bar per second).",
)
@click.option(
    "--lockstep",
    is_flag=True,
    help="Move the replay one bar each time a client asks klines for the next bar, and never "
    "otherwise (reproducible rehearsals; excludes --speed).",
)
@click.option(
    "--clock-skew",
    "clock_skew_ms",
    type=int,
    default=0,
    show_default=True,
    metavar="MS",
    help="Judge request timestamps by a wall clock this many ms ahead (negative: behind).",
)
@click.option(
    "--history",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Bars already closed when the sandbox starts (a session's warm-up comes from them).",
)
@click.option(
    "--balance",
    "balances",
    multiple=True,
    metavar="ASSET=AMOUNT",
    help="Starting balance, repeatable (default: 10000 of the quote asset).",
)
@click.option("--fee-rate", type=NON_NEGATIVE, default=0.001, show_default=True)
@click.option(
    "--participation",
    type=click.FloatRange(min=0.0, max=1.0, min_open=True),
    help="Share of each bar's volume a resting order may take (larger ones fill in parts).",
)
@click.option(
    "--faults",
    "fault_rates",
    default="",
    metavar="FAULT=RATE,…",
    help="Fail requests at random: 429, 418, 500, hang, hang-after (e.g. 429=0.05,500=0.02).",
)
@click.option("--fault-seed", type=int, default=0, show_default=True, help="Seed of --faults.")
@instrument_options
def sandbox(
    data_file: Path,
    symbol: str,
    timeframe: str,
    port: int,
    speed: float | None,
    lockstep: bool,
    clock_skew_ms: int,
    history: int,
    balances: tuple[str, ...],
    fee_rate: float,
    participation: float | None,
    fault_rates: str,
    fault_seed: int,
    tick_size: float | None,
    lot_step: float | None,
    min_notional: float | None,
    instruments_file: Path | None,
) -> None:
    """Serve FILE's candles as a local exchange that accepts signed spot orders."""
    if lockstep and speed is not None:
        raise AtbError("--lockstep and --speed exclude each other: choose one clock")
    try:
        faults = FaultPlan(parse_fault_rates(fault_rates), seed=fault_seed)
    except ValueError as error:
        raise AtbError(f"--faults {error}") from None
    pair = normalize_symbol(symbol)
    tf = parse_timeframe(timeframe)
    candles = load_candles(pair, tf, data_file=data_file)
    bars = bars_from_frame(candles.frame)
    if len(bars) <= history:
        raise AtbError(
            f"{data_file}: {len(bars)} bars, but --history {history} must leave bars to replay"
        )
    resolved = resolve_run_instrument(
        pair,
        candles.frame,
        tick_size=tick_size,
        lot_step=lot_step,
        min_notional=min_notional,
        instruments_file=instruments_file,
    )
    instrument = resolved.instrument
    base, quote = instrument.base_asset, instrument.quote_asset
    if base is None or quote is None:
        raise AtbError(
            f"instrument {pair}: the sandbox needs its base and quote assets "
            "(base_asset/quote_asset in --instruments)"
        )
    bar_ms = tf.milliseconds
    rate = speed if speed is not None else bar_ms / 1000.0
    replay_start = int(bars[history].time.timestamp() * 1000)
    now_ms = (
        LockstepClock(
            replay_start, bar_ms=bar_ms, end_ms=int(bars[-1].time.timestamp() * 1000) + bar_ms
        )
        if lockstep
        else _wall_replay_clock(replay_start, rate)
    )
    exchange = SandboxExchange(
        symbol=pair,
        base_asset=base,
        quote_asset=quote,
        instrument=instrument,
        bars=bars,
        bar_ms=bar_ms,
        balances=_balances(balances, base, quote),
        now_ms=now_ms,
        fee_rate=fee_rate,
        participation=participation,
    )
    # The sandbox checks signatures like the exchange: with the user's ATB_API_KEY and
    # ATB_API_SECRET (never printed), or with credentials made up for this sandbox alone.
    given_key, given_secret = os.environ.get("ATB_API_KEY"), os.environ.get("ATB_API_SECRET")
    made_up = not (given_key and given_secret)
    api_key = secrets.token_hex(16) if made_up or given_key is None else given_key
    secret = secrets.token_hex(32) if made_up or given_secret is None else given_secret
    stop = click.get_current_context().with_resource(stop_signals())
    server = SandboxServer(
        exchange,
        api_key=api_key,
        secret=secret,
        port=port,
        faults=faults,
        clock_skew_ms=clock_skew_ms,
    ).start()
    try:
        pace = "in lockstep with klines requests" if lockstep else f"at {rate:g}x"
        skew = f", request clock skewed {clock_skew_ms:+d} ms" if clock_skew_ms else ""
        click.echo(
            f"sandbox {pair} {tf} on {server.url}: {len(bars) - history} bars to replay "
            f"from {bars[history].time:%Y-%m-%d %H:%M} UTC {pace}{skew}"
        )
        if made_up:
            click.echo(f"export ATB_API_KEY={api_key} ATB_API_SECRET={secret}  # sandbox only")
        else:
            click.echo("credentials from ATB_API_KEY / ATB_API_SECRET")
        while not stop.is_set():
            stop.wait(0.2)
    finally:
        server.stop()
    trades = exchange.trades()
    free = ", ".join(
        f"{asset} {amount[0] + amount[1]:.8g}" for asset, amount in exchange.balances().items()
    )
    click.echo(f"sandbox stopped: {len(trades)} fill(s); balances {free}")


def _wall_replay_clock(replay_start: int, rate: float) -> Callable[[], int]:
    """A replay clock that runs `rate` replayed seconds per real second from now."""
    started = time.monotonic()

    def now_ms() -> int:
        return replay_start + int((time.monotonic() - started) * rate * 1000)

    return now_ms


def _balances(pairs: tuple[str, ...], base: str, quote: str) -> dict[str, float]:
    if not pairs:
        return {quote: 10_000.0, base: 0.0}
    chosen: dict[str, float] = {base: 0.0, quote: 0.0}
    for text in pairs:
        asset, sep, amount = text.partition("=")
        try:
            value = float(amount)
        except ValueError:
            value = float("nan")
        if not sep or not asset.strip() or not value >= 0 or value == float("inf"):
            raise AtbError(f"--balance {text!r}: expected ASSET=AMOUNT with an amount >= 0")
        chosen[asset.strip().upper()] = value
    return chosen
