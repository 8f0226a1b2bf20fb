"""A portfolio's candles: N symbols, one timeframe, one quote currency, one time axis.

`load_portfolio` reads each symbol's candles (a folder holding one file per symbol, or one file
per symbol given by path), resolves each symbol's own rules (never another market's: a symbol
without rules gets them from the user, the exchange's cached metadata or, with a warning, its
own data), refuses mixed quote currencies, and lays the series on one time axis: the union of
their bar times, in time order.

The axis is what makes a portfolio step deterministic (docs/concepts/portfolio.md): at each bar
time the symbols that have a bar are processed in symbol order — the order the user listed them
in never matters, so `symbols` is sorted. A symbol without a bar at a time (a gap, a later
listing, an earlier delisting) is simply absent at that time: no bar is ever invented for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

import attrs
import numpy as np
import numpy.typing as npt
import pandas as pd

from atb.data.candles import ValidatedCandles
from atb.data.instruments import ResolvedInstrument, resolve_instrument
from atb.data.loading import load_candles
from atb.data.symbols import normalize_symbol
from atb.data.times import TimeLike
from atb.domain.errors import DataError, InstrumentError
from atb.domain.timeframes import Timeframe, parse_timeframe

__all__ = [
    "PortfolioCandles",
    "assemble_portfolio",
    "find_symbol_files",
    "load_portfolio",
    "quote_asset_of",
    "refuse_mixed_quotes",
]

CANDLE_SUFFIXES = (".csv", ".parquet")

KNOWN_QUOTES = ("FDUSD", "USDT", "USDC", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY")
"""Quote assets recognised at the end of a symbol when its rules do not name one (longest
first wins: FDUSD before USD-anything)."""


@attrs.frozen(slots=True)
class PortfolioCandles:
    """Each symbol's validated candles and rules, on one time axis (see the module docstring)."""

    symbols: tuple[str, ...]
    """In symbol order (sorted): the order every step visits them in."""
    candles: Mapping[str, ValidatedCandles]
    instruments: Mapping[str, ResolvedInstrument]
    quote_asset: str
    times: tuple[datetime, ...]
    """Every bar time any symbol has, in time order."""
    present: Mapping[str, npt.NDArray[np.bool_]]
    """Per symbol, whether it has a bar at each of `times`."""
    files: Mapping[str, Path] = attrs.field(factory=dict)
    """Per symbol, the file its candles were read from (absolute)."""

    def missing(self, symbol: str) -> tuple[datetime, ...]:
        """The axis times at which `symbol` has no bar."""
        mask = self.present[symbol]
        return tuple(time for time, here in zip(self.times, mask, strict=True) if not here)

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the user should know about the rules the symbols got."""
        return tuple(w for symbol in self.symbols for w in self.instruments[symbol].warnings)


def find_symbol_files(
    folder: Path, symbols: Sequence[str], timeframe: Timeframe
) -> dict[str, Path]:
    """Each symbol's candle file in `folder`: named `SYMBOL.csv` or `SYMBOL_…` (a `_5m_`-style
    timeframe token, when the name has one, must match). One file per symbol, else `DataError`
    naming the symbol and what was found."""
    if not folder.is_dir():
        raise DataError(f"--data {folder}: not a folder")
    files = sorted(
        path for path in folder.iterdir() if path.is_file() and path.suffix in CANDLE_SUFFIXES
    )
    found: dict[str, Path] = {}
    for symbol in symbols:
        matches = [path for path in files if _names(path, symbol, timeframe)]
        if not matches:
            raise DataError(
                f"--data {folder}: no candle file for {symbol} {timeframe} (expected "
                f"{symbol}.csv or {symbol}_….csv)"
            )
        if len(matches) > 1:
            names = ", ".join(path.name for path in matches)
            raise DataError(f"--data {folder}: {len(matches)} files for {symbol}: {names}")
        found[symbol] = matches[0]
    return found


def _names(path: Path, symbol: str, timeframe: Timeframe) -> bool:
    stem = path.stem.upper()
    if stem == symbol:
        return True
    if not stem.startswith(f"{symbol}_"):
        return False
    tokens = stem[len(symbol) + 1 :].lower().split("_")
    frames = [token for token in tokens if re.fullmatch(r"\d+[smhdwM]", token)]
    return not frames or str(timeframe) in frames


def quote_asset_of(symbol: str, rules: ResolvedInstrument) -> str:
    """The symbol's quote currency: from its rules, else from a known suffix of its name."""
    named = rules.instrument.quote_asset
    if named:
        return named
    for quote in KNOWN_QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return quote
    raise InstrumentError(
        f"{symbol}: cannot tell its quote currency; give quote_asset in an instruments file"
    )


def load_portfolio(
    symbols: Sequence[str],
    timeframe: str | Timeframe,
    *,
    data: Sequence[Path] = (),
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    days: int | None = None,
    warmup: int = 0,
    instruments_file: Path | None = None,
    drop_outliers: bool = False,
    exchange_url: str | None = None,
    allow_network: bool = False,
) -> PortfolioCandles:
    """The portfolio's candles from one folder or one file per symbol, or (without `data`)
    from the candle cache — and the exchange, with `allow_network` (see the module docstring).
    Every refusal is one line naming the symbol and what is wrong."""
    names = [normalize_symbol(symbol) for symbol in symbols]
    if not names:
        raise DataError("--symbols: name at least one symbol")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DataError(f"--symbols: {repeated[0]} is given twice")
    ordered = tuple(sorted(names))
    tf = parse_timeframe(timeframe)
    files = _files(ordered, tf, data) if data else {}
    candles = {
        symbol: load_candles(
            symbol,
            tf,
            start,
            end,
            days=days,
            warmup=warmup,
            data_file=files.get(symbol),
            exchange_url=exchange_url,
            allow_network=allow_network and symbol not in files,
            drop_outliers=drop_outliers,
        )
        for symbol in ordered
    }
    instruments = {
        symbol: resolve_instrument(
            symbol, frame=candles[symbol].frame, instruments_file=instruments_file
        )
        for symbol in ordered
    }
    return assemble_portfolio(
        candles, instruments, {symbol: path.absolute() for symbol, path in files.items()}
    )


def assemble_portfolio(
    candles: Mapping[str, ValidatedCandles],
    instruments: Mapping[str, ResolvedInstrument],
    files: Mapping[str, Path] | None = None,
) -> PortfolioCandles:
    """A portfolio of candles already loaded (one symbol's backtest as a portfolio, a live
    session's windows): one quote currency, one axis, symbols in order."""
    ordered = tuple(sorted(candles))
    if not ordered:
        raise DataError("a portfolio needs at least one symbol")
    quotes = {symbol: quote_asset_of(symbol, instruments[symbol]) for symbol in ordered}
    refuse_mixed_quotes(quotes)
    times, present = _axis(ordered, candles)
    return PortfolioCandles(
        symbols=ordered,
        candles={symbol: candles[symbol] for symbol in ordered},
        instruments={symbol: instruments[symbol] for symbol in ordered},
        quote_asset=quotes[ordered[0]],
        times=times,
        present=present,
        files=dict(files or {}),
    )


def _files(symbols: Sequence[str], timeframe: Timeframe, data: Sequence[Path]) -> dict[str, Path]:
    if len(data) == 1 and data[0].is_dir():
        return find_symbol_files(data[0], symbols, timeframe)
    found: dict[str, Path] = {}
    for path in data:
        if path.is_dir():
            raise DataError(f"--data {path}: give one folder, or one file per symbol")
        owners = [symbol for symbol in symbols if _names(path, symbol, timeframe)]
        if len(owners) != 1:
            raise DataError(
                f"--data {path}: its name must start with exactly one of the symbols "
                f"({', '.join(symbols)})"
            )
        if owners[0] in found:
            raise DataError(f"--data: two files for {owners[0]}: {found[owners[0]]}, {path}")
        found[owners[0]] = path
    missing = [symbol for symbol in symbols if symbol not in found]
    if missing:
        raise DataError(f"--data: no file for {missing[0]}")
    return found


def refuse_mixed_quotes(quotes: Mapping[str, str]) -> None:
    """Refuse, in one line, symbols that are not all quoted in one currency."""
    currencies = sorted(set(quotes.values()))
    if len(currencies) <= 1:
        return
    groups = "; ".join(
        f"{', '.join(s for s in quotes if quotes[s] == currency)} in {currency}"
        for currency in currencies
    )
    raise InstrumentError(
        f"mixed quote currencies ({groups}): a portfolio trades in one currency, and converting "
        "between them is not supported yet"
    )


def _axis(
    symbols: Sequence[str], candles: Mapping[str, ValidatedCandles]
) -> tuple[tuple[datetime, ...], dict[str, npt.NDArray[np.bool_]]]:
    own = {symbol: _times(candles[symbol]) for symbol in symbols}
    union = sorted({time for symbol in symbols for time in own[symbol]})
    position = {time: index for index, time in enumerate(union)}
    present: dict[str, npt.NDArray[np.bool_]] = {}
    for symbol in symbols:
        mask = np.zeros(len(union), dtype=np.bool_)
        for time in own[symbol]:
            mask[position[time]] = True
        present[symbol] = mask
    return tuple(union), present


def _times(candles: ValidatedCandles) -> list[datetime]:
    index = candles.frame.index
    assert isinstance(index, pd.DatetimeIndex)  # validated candles are time-indexed
    return list(index.to_pydatetime())
