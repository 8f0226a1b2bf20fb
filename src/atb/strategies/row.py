"""`Row`: what a strategy sees at the close of one bar — its features and the bar's prices.

A row is a view into the feature columns at one bar, so making one costs nothing and nothing
outside that bar is reachable from it: `decide(row, position)` cannot look ahead or behind.
Read a feature as `row["fast_sma"]` (a float; a boolean feature reads 1.0 or 0.0) and the bar
as `row.close`, `row.time`, ….
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from atb.domain.errors import StrategyError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["Row"]


class Row:
    """One bar's features and OHLCV, read-only."""

    __slots__ = ("_columns", "_index", "time")

    def __init__(
        self, columns: Mapping[str, npt.NDArray[np.float64]], index: int, time: datetime
    ) -> None:
        self._columns = columns
        self._index = index
        self.time = time
        """The bar's open time (UTC)."""

    def __getitem__(self, name: str) -> float:
        """The feature (or OHLCV column) `name` at this bar."""
        try:
            column = self._columns[name]
        except KeyError:
            raise StrategyError(
                f"row has no feature {name!r}; features: {', '.join(self._columns)}"
            ) from None
        return float(column[self._index])

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    @property
    def open(self) -> float:
        """The bar's open price."""
        return float(self._columns["open"][self._index])

    @property
    def high(self) -> float:
        """The bar's high."""
        return float(self._columns["high"][self._index])

    @property
    def low(self) -> float:
        """The bar's low."""
        return float(self._columns["low"][self._index])

    @property
    def close(self) -> float:
        """The bar's close, the price decisions are made at."""
        return float(self._columns["close"][self._index])

    @property
    def volume(self) -> float:
        """The bar's volume (base asset)."""
        return float(self._columns["volume"][self._index])

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={self[name]:g}" for name in self._columns)
        return f"Row({self.time:%Y-%m-%d %H:%M}, {values})"
