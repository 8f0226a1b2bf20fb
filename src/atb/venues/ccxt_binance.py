"""A ccxt Binance spot client pointed at any Binance-compatible base URL.

`--exchange-url` (or `atb sandbox`'s address) replaces Binance's spot REST roots, so the same
client talks to the real exchange, to its testnet or to a local sandbox. Only spot markets are
loaded (no futures, options, margin or currency endpoints: atb trades spot), and ccxt's own
rate limiter stays on for the real exchange.
"""

from __future__ import annotations

import ccxt

__all__ = ["binance_client"]


def binance_client(
    base_url: str | None, *, api_key: str, secret: str, timeout_s: float = 10.0
) -> ccxt.binance:
    """A spot-only ccxt Binance client with these credentials (never logged by atb)."""
    client = ccxt.binance(
        {
            "apiKey": api_key,
            "secret": secret,
            "timeout": int(timeout_s * 1000),
            "enableRateLimit": base_url is None,
            "options": {
                "defaultType": "spot",
                "fetchMarkets": {"types": ["spot"]},
                "fetchCurrencies": False,
                "fetchMargins": False,
            },
        }
    )
    if base_url is not None:
        root = base_url.rstrip("/")
        api = client.urls["api"]
        assert isinstance(api, dict)
        client.urls["api"] = {
            **api,
            "public": f"{root}/api/v3",
            "private": f"{root}/api/v3",
            "v1": f"{root}/api/v1",
            "sapi": f"{root}/sapi/v1",
        }
    return client
