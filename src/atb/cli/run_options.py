"""Options shared by the commands that run a strategy (`atb backtest`, `atb live`).

One definition of each flag, and one way to turn them into a configuration and a strategy,
so the two engines are always driven by the same inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from atb.cli.option_types import NON_NEGATIVE, POSITIVE, file_path, folder_path
from atb.config import load_configuration
from atb.data.candles import ValidatedCandles
from atb.data.instruments import InstrumentOverrides, ResolvedInstrument, resolve_instrument
from atb.domain.errors import DataError
from atb.managers.run_config import RunConfiguration
from atb.strategies.protocol import Strategy
from atb.strategies.registry import StrategyContext, get_entry

if TYPE_CHECKING:
    import pandas as pd

F = TypeVar("F", bound=Callable[..., Any])


def strategy_options(command: F) -> F:
    """`--param`, `--set`, `--config`, `--initial-balance`, `--model-dir`."""
    decorators = [
        click.option(
            "--param",
            "params",
            multiple=True,
            metavar="NAME=VALUE",
            help="Strategy parameter (repeatable), e.g. --param fast=10.",
        ),
        click.option(
            "--set",
            "assignments",
            multiple=True,
            metavar="KEY=VALUE",
            help="Config override (repeatable), e.g. --set costs.slippage=0 --set partials=None.",
        ),
        click.option(
            "--config",
            "config_file",
            type=file_path(),
            help="TOML file of config overrides (applied before --set).",
        ),
        click.option(
            "--initial-balance",
            type=POSITIVE,
            default=10_000.0,
            show_default=True,
            help="Starting cash in quote currency.",
        ),
        click.option(
            "--model-dir",
            type=folder_path(),
            help="Where trained models live (default: ATB_MODEL_DIR or the user data dir).",
        ),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def instrument_options(command: F) -> F:
    """`--tick-size`, `--lot-step`, `--min-notional`, `--instruments`: the market's rules."""
    decorators = [
        click.option(
            "--tick-size",
            type=POSITIVE,
            help="Price step of the market (default: exchange rules, instruments.toml, built-in, "
            "else inferred from the data).",
        ),
        click.option("--lot-step", type=POSITIVE, help="Quantity step of the market (base units)."),
        click.option(
            "--min-notional",
            type=NON_NEGATIVE,
            help="Smallest order value the market accepts (quote currency).",
        ),
        click.option(
            "--instruments",
            "instruments_file",
            type=file_path(),
            help="TOML file of market rules, one [SYMBOL] table each "
            "(default: <data dir>/instruments.toml when present).",
        ),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def resolve_run_instrument(
    symbol: str,
    frame: pd.DataFrame | None,
    *,
    tick_size: float | None,
    lot_step: float | None,
    min_notional: float | None,
    instruments_file: Path | None,
) -> ResolvedInstrument:
    """The market's rules for a run, from the options and the sources of
    `atb.data.instruments.resolve_instrument` (its warnings are the caller's to show)."""
    return resolve_instrument(
        symbol,
        frame=frame,
        overrides=InstrumentOverrides(tick_size, lot_step, min_notional),
        instruments_file=instruments_file,
    )


def build_config(config_file: Path | None, assignments: Sequence[str]) -> RunConfiguration:
    """Defaults, then the TOML file, then `--set` pairs (later wins)."""
    return load_configuration(config_file, assignments)


def build_strategy(
    name: str,
    params: Sequence[str],
    *,
    symbol: str,
    timeframe: str,
    model_dir: Path | None,
) -> Strategy:
    """The named strategy with `--param` values validated against its declared parameters."""
    entry = get_entry(name)
    context = StrategyContext(symbol=symbol, timeframe=timeframe, model_dir=model_dir)
    return entry.create(entry.parse(params), context)


def build_strategies(
    name: str,
    params: Sequence[str],
    *,
    symbols: Sequence[str],
    timeframe: str,
    model_dir: Path | None,
) -> dict[str, Strategy]:
    """One instance of the named strategy per symbol (a portfolio), in symbol order."""
    return {
        symbol: build_strategy(
            name, params, symbol=symbol, timeframe=timeframe, model_dir=model_dir
        )
        for symbol in sorted(symbols)
    }


def refuse_short_history(candles: ValidatedCandles, strategy: Strategy) -> None:
    """Refuse candles too few for the strategy to make a single decision with full history.

    Such a run would end with no trades and no hint why; with at least `warmup` bars the
    first decisions may still lack warm-up bars, which the loader's note already says.
    """
    if len(candles) < strategy.warmup:
        raise DataError(
            f"{candles.describe()}: {strategy.name} needs {strategy.warmup} bars of history "
            f"before its first decision, and the candles hold only {len(candles)} "
            "(warm-up included); widen the window (--start, --days) or use a longer file"
        )
