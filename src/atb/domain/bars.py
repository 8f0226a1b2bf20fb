"""One OHLCV candle, as the kernel sees it."""

from __future__ import annotations

from datetime import datetime

import attrs


@attrs.frozen(slots=True)
class Bar:
    """A closed candle. `time` is the bar's open time (UTC).

    Bars are validated once, at the data boundary (`atb.data.validation`), so the per-bar hot path
    builds them without re-checking every field.
    """

    time: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0
