"""What a portfolio's `result.json` says about the run that wrote it: enough to run it again.

The portfolio counterpart of `atb.reporting.run_record`: the strategy and parameters, the
configuration, the account, and per symbol its candles (window, warm-up, file, fingerprint) and
its market's rules, so `atb backtest --rerun result.json` can repeat a portfolio run and check
that every symbol's data and the model are still the ones it used. Any missing or malformed key
is a `ResultFileError` naming the file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import attrs

from atb.domain.instruments import Instrument
from atb.reporting.run_record import JsonReader, ResultFileError, instrument_from, load_document

__all__ = ["PortfolioRunRecord", "SymbolRecord", "read_portfolio_record"]


@attrs.frozen(slots=True, kw_only=True)
class SymbolRecord:
    """One symbol's inputs in a recorded portfolio run."""

    symbol: str
    start: datetime
    end: datetime
    """Open time of the symbol's last bar in the window."""
    warmup_bars: int
    fingerprint: str
    data_file: str | None
    drop_outliers: bool
    notes: tuple[str, ...]
    instrument: Instrument
    instrument_source: str
    instrument_warnings: tuple[str, ...]
    model_id: str | None
    """The model its strategy decided with (None: no model)."""


@attrs.frozen(slots=True, kw_only=True)
class PortfolioRunRecord:
    """The inputs of a recorded portfolio run."""

    path: Path
    strategy: str
    parameters: Mapping[str, object]
    model_id: str | None
    model_path: str | None
    overlap_allowed: bool
    config: Mapping[str, object]
    timeframe: str
    initial_balance: float
    closed_at_end: bool
    symbols: tuple[SymbolRecord, ...]


def read_portfolio_record(path: Path) -> PortfolioRunRecord:
    """The inputs recorded in the portfolio `result.json` at `path`."""
    root = JsonReader(load_document(path), "", path)
    if not root.has("kind") or root.text("kind") != "portfolio":
        raise ResultFileError(f"{path}: not a portfolio's result (its kind is not 'portfolio')")
    strategy = root.child("strategy")
    symbols = []
    for index, item in enumerate(root.items("symbols")):
        data, rules = item.child("data"), item.child("instrument")
        symbols.append(
            SymbolRecord(
                symbol=item.text("symbol"),
                start=data.time("start"),
                end=data.time("end"),
                warmup_bars=data.integer("warmup_bars"),
                fingerprint=data.text("fingerprint"),
                data_file=data.optional_text("file"),
                drop_outliers=data.flag("drop_outliers"),
                notes=data.texts("notes"),
                instrument=instrument_from(rules, f"symbols[{index}].instrument"),
                instrument_source=rules.text("source"),
                instrument_warnings=rules.texts("warnings"),
                model_id=item.optional_text("model_id"),
            )
        )
    if not symbols:
        raise ResultFileError(f"{path}: symbols is empty")
    return PortfolioRunRecord(
        path=path,
        strategy=strategy.text("name"),
        parameters=strategy.mapping("parameters"),
        model_id=strategy.optional_text("model_id"),
        model_path=strategy.optional_text("model_path"),
        overlap_allowed=strategy.flag("overlap_allowed"),
        config=root.mapping("config"),
        timeframe=root.text("timeframe"),
        initial_balance=root.number("initial_balance"),
        closed_at_end=root.flag("closed_at_end"),
        symbols=tuple(symbols),
    )
