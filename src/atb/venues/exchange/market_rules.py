"""The market's rules as ccxt reads them from the exchange, and the check a real session makes.

A real order must follow the exchange's rules, not a file's or a flag's: before a session trades,
the instrument it was given is compared with ccxt's market data (tick size, lot step, minimum
quantity and order value). A difference refuses the start with one line naming the rule and both
values — the orders would otherwise be refused one by one, or rounded to a grid the exchange does
not use.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from atb.domain.errors import AtbError
from atb.domain.instruments import Instrument

__all__ = ["check_rules", "instrument_from_market"]


def instrument_from_market(market: Mapping[str, object]) -> Instrument:
    """atb's `Instrument` from a ccxt market (ccxt's tick-size precision mode, as for Binance)."""
    precision = _section(market, "precision")
    limits = _section(market, "limits")
    return Instrument(
        symbol=str(market["id"]),
        tick_size=_number(precision.get("price")),
        lot_step=_number(precision.get("amount")),
        min_notional=_number(_section(limits, "cost").get("min"), 0.0),
        min_quantity=_number(_section(limits, "amount").get("min"), 0.0),
        base_asset=str(market["base"]),
        quote_asset=str(market["quote"]),
    )


def check_rules(given: Instrument, market: Mapping[str, object]) -> None:
    """Refuse a session whose rules differ from the exchange's (one line: rule, both values)."""
    actual = instrument_from_market(market)
    for rule in ("tick_size", "lot_step", "min_notional", "min_quantity"):
        mine, theirs = getattr(given, rule), getattr(actual, rule)
        if not math.isclose(mine, theirs, rel_tol=1e-9):
            raise AtbError(
                f"{given.symbol}: {rule.replace('_', ' ')} {mine:g} differs from the exchange's "
                f"{theirs:g}; real orders follow the exchange's rules (drop the override)"
            )
    for asset, mine_asset, theirs_asset in (
        ("base asset", given.base_asset, actual.base_asset),
        ("quote asset", given.quote_asset, actual.quote_asset),
    ):
        if mine_asset is not None and mine_asset != theirs_asset:
            raise AtbError(
                f"{given.symbol}: {asset} {mine_asset} differs from the exchange's {theirs_asset}"
            )


def _section(mapping: Mapping[str, object], key: str) -> Mapping[str, object]:
    value = mapping.get(key)
    return value if isinstance(value, dict) else {}


def _number(value: object, default: float | None = None) -> float:
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    if default is not None:
        return default
    raise AtbError(f"the exchange's market data lacks a rule atb needs (got {value!r})")
