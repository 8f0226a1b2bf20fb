"""The exchange's own trading rules for a symbol (Binance `exchangeInfo`), cached beside its
candles.

`parse_symbol_rules` turns one entry of `GET /api/v3/exchangeInfo` into an `Instrument`:
`PRICE_FILTER.tickSize`, `LOT_SIZE.stepSize` and `minQty`, and the minimum order value from
`NOTIONAL` (or the older `MIN_NOTIONAL`) `minNotional`, with `baseAsset` and `quoteAsset`. A
malformed entry is an `InstrumentError` naming the symbol and the field.

The entry is stored verbatim as `candles/<SYMBOL>/instrument.json` under the data directory,
with where and when it was fetched, so the rules a run used can be traced to the exchange's
answer. `atb data download` (and any run that downloads candles) refreshes it.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from atb.data.atomic import write_text_atomically
from atb.data.symbols import normalize_symbol
from atb.domain.errors import InstrumentError
from atb.domain.instruments import Instrument

if TYPE_CHECKING:
    from atb.data.binance import BinanceClient

RULES_FILE = "instrument.json"
_FORMAT = 1


@attrs.frozen(slots=True)
class ExchangeRules:
    """An instrument as the exchange defines it, with where and when that was read."""

    instrument: Instrument
    source: str
    fetched_at: str

    def describe(self) -> str:
        """`exchange rules (http://…/api/v3/exchangeInfo, fetched 2026-12-01T10:00:00Z)`."""
        return f"exchange rules ({self.source}, fetched {self.fetched_at})"


def rules_path(root: Path, symbol: str) -> Path:
    """Where a symbol's exchange rules are cached under the data directory `root`."""
    return root / "candles" / normalize_symbol(symbol) / RULES_FILE


def parse_symbol_rules(entry: object, where: str) -> Instrument:
    """One `exchangeInfo` symbol entry → `Instrument`; `InstrumentError` names what is wrong."""
    if not isinstance(entry, dict):
        raise InstrumentError(f"{where}: expected a symbol object, got {entry!r:.200}")
    symbol = entry.get("symbol")
    if not isinstance(symbol, str):
        raise InstrumentError(f"{where}: the symbol entry has no 'symbol' name")
    filters = entry.get("filters")
    if not isinstance(filters, list):
        raise InstrumentError(f"{where}: {symbol} has no 'filters' list")
    by_type = {item.get("filterType"): item for item in filters if isinstance(item, dict)}
    tick = _number(by_type, "PRICE_FILTER", "tickSize", symbol, where)
    step = _number(by_type, "LOT_SIZE", "stepSize", symbol, where)
    min_quantity = _number(by_type, "LOT_SIZE", "minQty", symbol, where, required=False)
    notional_filter = "NOTIONAL" if "NOTIONAL" in by_type else "MIN_NOTIONAL"
    min_notional = _number(by_type, notional_filter, "minNotional", symbol, where, required=False)
    base, quote = entry.get("baseAsset"), entry.get("quoteAsset")
    try:
        return Instrument(
            normalize_symbol(symbol),
            tick_size=tick,
            lot_step=step,
            min_notional=min_notional,
            min_quantity=min_quantity,
            base_asset=base if isinstance(base, str) and base else None,
            quote_asset=quote if isinstance(quote, str) and quote else None,
        )
    except ValueError as error:
        raise InstrumentError(f"{where}: {symbol}: {error}") from error


def _number(
    filters: dict[object, dict[str, object]],
    filter_type: str,
    key: str,
    symbol: str,
    where: str,
    *,
    required: bool = True,
) -> float:
    item = filters.get(filter_type)
    if item is None or key not in item:
        if required:
            raise InstrumentError(f"{where}: {symbol} has no {filter_type}.{key}")
        return 0.0
    raw = item[key]
    try:
        value = float(str(raw))
    except ValueError as error:
        raise InstrumentError(
            f"{where}: {symbol} {filter_type}.{key} is not a number: {raw!r:.40}"
        ) from error
    if not value >= 0 or value == float("inf") or (required and value == 0):
        raise InstrumentError(f"{where}: {symbol} {filter_type}.{key} must be > 0, got {raw!r:.40}")
    return value


def store_exchange_rules(
    root: Path, symbol: str, entry: object, *, source: str, fetched_at: datetime
) -> ExchangeRules:
    """Validate and cache one `exchangeInfo` entry for `symbol` (atomic write)."""
    instrument = parse_symbol_rules(entry, source)
    if instrument.symbol != normalize_symbol(symbol):
        raise InstrumentError(
            f"{source}: asked for the rules of {normalize_symbol(symbol)}, got {instrument.symbol}"
        )
    stamp = fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    payload = {"format": _FORMAT, "source": source, "fetched_at": stamp, "entry": entry}
    path = rules_path(root, symbol)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, json.dumps(payload, indent=1, sort_keys=True) + "\n")
    return ExchangeRules(instrument, source, stamp)


def load_exchange_rules(root: Path, symbol: str) -> ExchangeRules | None:
    """The cached exchange rules of `symbol`, or None when none were ever fetched."""
    path = rules_path(root, symbol)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise InstrumentError(f"{path}: cannot be read ({error.strerror})") from error
    try:
        payload = json.loads(text)
    except ValueError as error:
        raise InstrumentError(
            f"{path}: not valid JSON ({error}); run `atb data download`"
        ) from error
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise InstrumentError(f"{path}: unknown format; run `atb data download` to refresh it")
    instrument = parse_symbol_rules(payload.get("entry"), str(path))
    return ExchangeRules(
        instrument, str(payload.get("source", path)), str(payload.get("fetched_at", "?"))
    )


def refresh_exchange_rules(
    client: BinanceClient, root: Path, symbol: str, *, fetched_at: datetime
) -> ExchangeRules:
    """Fetch `symbol`'s rules from the exchange and cache them (see `store_exchange_rules`)."""
    entry = client.symbol_rules(symbol)
    source = f"{client.base_url}/api/v3/exchangeInfo"
    return store_exchange_rules(root, symbol, entry, source=source, fetched_at=fetched_at)
