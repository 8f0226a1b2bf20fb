"""Trading-pair symbols as used in paths, URLs and messages."""

from __future__ import annotations

import re

from atb.domain.errors import DataError

# Binance symbols are upper-case letters and digits; the pattern also keeps a symbol safe to use
# as a directory name (no separators, no `..`).
_SYMBOL = re.compile(r"^[A-Z0-9]{2,30}$")


def normalize_symbol(symbol: str) -> str:
    """Upper-case, trimmed symbol (`btcusdt` → `BTCUSDT`); anything else is a `DataError`."""
    normalized = symbol.strip().upper()
    if not _SYMBOL.match(normalized):
        raise DataError(
            f"invalid symbol {symbol!r}: use letters and digits only, e.g. BTCUSDT or DEMO"
        )
    return normalized
