"""Exchange rules (tick, lot step, minimum notional) for the symbols atb knows.

Values follow Binance spot filters for the listed symbols. Any other symbol gets the common
USDT-pair rules; users trading exotic pairs should check them against the exchange.
"""

from __future__ import annotations

from types import MappingProxyType

from atb.data.symbols import normalize_symbol
from atb.domain.instruments import Instrument

KNOWN_INSTRUMENTS = MappingProxyType(
    {
        "BTCUSDT": Instrument(symbol="BTCUSDT", tick_size=0.01, lot_step=0.00001, min_notional=5.0),
        "ETHUSDT": Instrument(symbol="ETHUSDT", tick_size=0.01, lot_step=0.0001, min_notional=5.0),
        "DEMO": Instrument(symbol="DEMO", tick_size=0.01, lot_step=0.00001, min_notional=5.0),
    }
)


def instrument_for(symbol: str) -> Instrument:
    """The rules for `symbol` (case-insensitive); common USDT-pair rules when unknown."""
    name = normalize_symbol(symbol)
    known = KNOWN_INSTRUMENTS.get(name)
    if known is not None:
        return known
    return Instrument(symbol=name, tick_size=0.01, lot_step=0.00001, min_notional=5.0)
