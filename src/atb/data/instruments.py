"""Where an instrument's rules come from: the user, the exchange, or — said aloud — the data.

No market ever gets another market's rules by default. `resolve_instrument` takes, in order:

1. the rules the user gives on the command line (`--tick-size`, `--lot-step`, `--min-notional`),
   field by field, over whatever else is found;
2. an `instruments.toml` table for the symbol (`--instruments FILE`, else
   `<data dir>/instruments.toml` when it exists);
3. the exchange's own metadata (Binance `exchangeInfo`), cached beside the candles by
   `atb data download` and by any run that downloads candles (`atb.data.exchange_rules`);
4. the rules built into atb for the few symbols it knows (Binance spot filters);
5. otherwise the tick is inferred from the decimal precision of the candles, with no lot
   minimums, and a warning says so.

The result names its source, and runs record it (`result.json`, the summary, the report).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from types import MappingProxyType

import attrs
import numpy as np
import pandas as pd

from atb.data.exchange_rules import load_exchange_rules
from atb.data.symbols import normalize_symbol
from atb.domain.errors import InstrumentError
from atb.domain.instruments import Instrument

INSTRUMENTS_FILE = "instruments.toml"
"""Name of the user's instrument table in the data directory."""

INFERRED_LOT_STEP = 1e-8
"""Lot step assumed when nothing says otherwise: the finest step Binance uses."""

_MAX_DECIMALS = 12

KNOWN_INSTRUMENTS = MappingProxyType(
    {
        "BTCUSDT": Instrument(
            "BTCUSDT",
            0.01,
            0.00001,
            5.0,
            min_quantity=0.00001,
            base_asset="BTC",
            quote_asset="USDT",
        ),
        "ETHUSDT": Instrument(
            "ETHUSDT", 0.01, 0.0001, 5.0, min_quantity=0.0001, base_asset="ETH", quote_asset="USDT"
        ),
        "DEMO": Instrument("DEMO", 0.01, 0.00001, 5.0, base_asset="DEMO", quote_asset="USD"),
    }
)
"""Rules built into atb: Binance spot filters for BTCUSDT and ETHUSDT, and the synthetic DEMO
market's own rules."""

_BUILTIN_SOURCE = "built-in Binance spot rules"


@attrs.frozen(slots=True)
class InstrumentOverrides:
    """Rules the user gives explicitly (command line); None leaves a field to the next source."""

    tick_size: float | None = None
    lot_step: float | None = None
    min_notional: float | None = None

    @property
    def empty(self) -> bool:
        """True when the user gave nothing."""
        return self.tick_size is None and self.lot_step is None and self.min_notional is None

    @property
    def complete(self) -> bool:
        """True when the user gave tick, lot step and minimum order value."""
        return None not in (self.tick_size, self.lot_step, self.min_notional)

    def apply(self, instrument: Instrument) -> Instrument:
        """`instrument` with the given fields replaced (validated by `Instrument`)."""
        try:
            return attrs.evolve(
                instrument,
                tick_size=instrument.tick_size if self.tick_size is None else self.tick_size,
                lot_step=instrument.lot_step if self.lot_step is None else self.lot_step,
                min_notional=(
                    instrument.min_notional if self.min_notional is None else self.min_notional
                ),
            )
        except ValueError as error:
            raise InstrumentError(f"instrument {instrument.symbol}: {error}") from error


@attrs.frozen(slots=True)
class ResolvedInstrument:
    """An instrument, where its rules came from (for people), and what to warn about."""

    instrument: Instrument
    source: str
    warnings: tuple[str, ...] = ()

    @property
    def inferred(self) -> bool:
        """True when the tick was guessed from the data."""
        return bool(self.warnings)


def builtin_instrument(symbol: str) -> Instrument | None:
    """The rules atb itself knows for `symbol`, or None."""
    return KNOWN_INSTRUMENTS.get(normalize_symbol(symbol))


def instrument_for(symbol: str) -> Instrument:
    """The built-in rules of a symbol atb knows; `InstrumentError` for any other symbol."""
    known = builtin_instrument(symbol)
    if known is None:
        raise InstrumentError(_no_rules(normalize_symbol(symbol)))
    return known


def _no_rules(name: str) -> str:
    return (
        f"no rules known for {name}: give --tick-size, --lot-step and --min-notional, an "
        f"{INSTRUMENTS_FILE}, or download its candles so the exchange's rules are cached"
    )


def price_decimals(frame: pd.DataFrame) -> int:
    """The fewest decimals that write every open/high/low/close of `frame` exactly (≤ 12)."""
    values = frame[["open", "high", "low", "close"]].to_numpy(dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 2
    for decimals in range(_MAX_DECIMALS + 1):
        scaled = values * 10.0**decimals
        # A price parsed from "0.09828605" lands within a few ulps of the decimal grid; 1e-13
        # relative is a thousand ulps, far below the 0.1 a missing decimal would leave.
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-13 * np.maximum(1.0, np.abs(scaled))):
            return decimals
    return _MAX_DECIMALS


def default_instrument(symbol: str, frame: pd.DataFrame) -> ResolvedInstrument:
    """Without any file or user input: the built-in rules, else rules inferred from `frame`."""
    known = builtin_instrument(symbol)
    if known is not None:
        return ResolvedInstrument(known, f"{_BUILTIN_SOURCE} for {known.symbol}")
    return infer_instrument(symbol, frame)


def infer_instrument(symbol: str, frame: pd.DataFrame) -> ResolvedInstrument:
    """Rules guessed from the candles: tick = the finest price step they are written in."""
    name = normalize_symbol(symbol)
    decimals = price_decimals(frame)
    tick = float(f"1e-{decimals}")
    instrument = Instrument(name, tick_size=tick, lot_step=INFERRED_LOT_STEP, min_notional=0.0)
    warning = (
        f"instrument {name}: no exchange or user rules; tick {tick:g} inferred from the data's "
        f"price precision ({decimals} decimals), lot step {INFERRED_LOT_STEP:g}, no minimum "
        "order — give --tick-size/--lot-step/--min-notional or an instruments.toml, or run "
        "`atb data download` to use the exchange's rules"
    )
    return ResolvedInstrument(instrument, "inferred from the data's price precision", (warning,))


def load_instruments_file(path: Path) -> dict[str, Instrument]:
    """Read an `instruments.toml`: one table per symbol with `tick_size`, `lot_step`,
    `min_notional` and optionally `min_quantity`, `base_asset`, `quote_asset`.

    Any problem is an `InstrumentError` naming the file, the symbol and the key.
    """
    try:
        with path.open("rb") as handle:
            tables = tomllib.load(handle)
    except FileNotFoundError as error:
        raise InstrumentError(f"instruments file {path}: not found") from error
    except OSError as error:
        raise InstrumentError(
            f"instruments file {path}: cannot be read ({error.strerror})"
        ) from error
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise InstrumentError(f"instruments file {path}: not valid TOML ({error})") from error
    instruments: dict[str, Instrument] = {}
    for symbol, table in tables.items():
        where = f"instruments file {path}: [{symbol}]"
        if not isinstance(table, dict):
            raise InstrumentError(f"{where} must be a table of rules, got {table!r}")
        instruments[normalize_symbol(symbol)] = _from_table(normalize_symbol(symbol), table, where)
    return instruments


_NUMBER_KEYS = ("tick_size", "lot_step", "min_notional", "min_quantity")
_TEXT_KEYS = ("base_asset", "quote_asset")


def _from_table(symbol: str, table: dict[str, object], where: str) -> Instrument:
    unknown = sorted(set(table) - {*_NUMBER_KEYS, *_TEXT_KEYS})
    if unknown:
        allowed = ", ".join((*_NUMBER_KEYS, *_TEXT_KEYS))
        raise InstrumentError(f"{where}: unknown key {unknown[0]!r} (known: {allowed})")
    missing = [key for key in ("tick_size", "lot_step", "min_notional") if key not in table]
    if missing:
        raise InstrumentError(f"{where}: missing {', '.join(missing)}")
    numbers: dict[str, float] = {}
    for key in _NUMBER_KEYS:
        if key not in table:
            continue
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InstrumentError(f"{where}: {key} must be a number, got {value!r}")
        numbers[key] = float(value)
    texts = {key: table[key] for key in _TEXT_KEYS if key in table}
    try:
        return Instrument(
            symbol,
            tick_size=numbers["tick_size"],
            lot_step=numbers["lot_step"],
            min_notional=numbers["min_notional"],
            min_quantity=numbers.get("min_quantity", 0.0),
            base_asset=_text(texts.get("base_asset"), where),
            quote_asset=_text(texts.get("quote_asset"), where),
        )
    except ValueError as error:
        raise InstrumentError(f"{where}: {error}") from error


def _text(value: object, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InstrumentError(f"{where}: asset names must be strings, got {value!r}")


def resolve_instrument(
    symbol: str,
    *,
    frame: pd.DataFrame | None = None,
    overrides: InstrumentOverrides | None = None,
    data_dir: Path | None = None,
    instruments_file: Path | None = None,
) -> ResolvedInstrument:
    """The rules for `symbol`, from the first source that has them (see the module docstring).

    `frame` (the run's candles) is needed only to infer a tick when no source has the rules;
    without it an unknown symbol is an `InstrumentError`.
    """
    name = normalize_symbol(symbol)
    given = overrides or InstrumentOverrides()
    found = _first_source(name, data_dir, instruments_file)
    if found is None:
        if given.complete:
            # Any valid placeholder: every field is replaced by the user's value.
            placeholder = Instrument(name, tick_size=1.0, lot_step=1.0, min_notional=0.0)
            return ResolvedInstrument(given.apply(placeholder), "command line")
        if frame is None:
            raise InstrumentError(_no_rules(name))
        found = infer_instrument(name, frame)
    if given.empty:
        return found
    fields = [
        label
        for label, value in (
            ("tick", given.tick_size),
            ("lot step", given.lot_step),
            ("min notional", given.min_notional),
        )
        if value is not None
    ]
    source = f"{', '.join(fields)} from the command line; the rest {found.source}"
    # A user-given tick replaces the inferred one, so the inference warning no longer applies.
    warnings = () if given.tick_size is not None else found.warnings
    return ResolvedInstrument(given.apply(found.instrument), source, warnings)


def _first_source(
    name: str, data_dir: Path | None, instruments_file: Path | None
) -> ResolvedInstrument | None:
    from atb.data.cache import default_data_dir

    root = data_dir if data_dir is not None else default_data_dir()
    table_path = instruments_file
    if table_path is None and (root / INSTRUMENTS_FILE).is_file():
        table_path = root / INSTRUMENTS_FILE
    if table_path is not None:
        table = load_instruments_file(table_path)
        if name in table:
            return ResolvedInstrument(table[name], f"{table_path}")
        if instruments_file is not None:
            raise InstrumentError(f"instruments file {instruments_file}: no [{name}] table")
    cached = load_exchange_rules(root, name)
    if cached is not None:
        return ResolvedInstrument(cached.instrument, cached.describe())
    known = KNOWN_INSTRUMENTS.get(name)
    if known is not None:
        return ResolvedInstrument(known, f"{_BUILTIN_SOURCE} for {name}")
    return None
