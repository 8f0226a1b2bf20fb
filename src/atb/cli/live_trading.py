"""`atb live --live-trading`: the exchange client and the session's account.

The key and secret (`atb.cli.api_keys`) go to the ccxt client and nowhere else: no log line,
error, store row or result names them (a test greps everything a session writes). This module
imports ccxt (~1 s): `atb live` imports it only for a session that uses the exchange.
"""

from __future__ import annotations

from collections.abc import Callable

import ccxt

from atb.domain.errors import AtbError
from atb.domain.instruments import Instrument
from atb.engines.live.engine import ExchangeAccess
from atb.venues.ccxt_binance import binance_client
from atb.venues.exchange.market_rules import check_rules
from atb.venues.exchange.spot_client import SpotClient

__all__ = ["exchange_access"]


def exchange_access(
    exchange_url: str | None,
    keys: tuple[str, str],
    instrument: Instrument,
    *,
    adopt: bool,
    wait: Callable[[float], bool],
    max_order_value: float | None = None,
    validate_only: bool = False,
) -> ExchangeAccess:
    """The session's account: a ccxt client with the keys (`read_keys`), its market loaded and
    its rules checked against the session's instrument (`check_rules`)."""
    key, secret = keys
    client = binance_client(exchange_url, api_key=key, secret=secret)
    symbol = f"{instrument.base_asset}/{instrument.quote_asset}"
    spot = SpotClient(client, symbol, wait=wait)
    try:
        market = spot.market()
    except ccxt.BadSymbol:
        raise AtbError(f"the exchange has no spot market {symbol}") from None
    check_rules(instrument, market)
    return ExchangeAccess(
        spot, adopt=adopt, max_order_value=max_order_value, validate_only=validate_only
    )
