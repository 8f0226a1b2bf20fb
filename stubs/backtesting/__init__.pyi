# Minimal stubs: only what benchmarks/bench_peers.py uses of backtesting.py (a benchmark-only
# dependency, `pip install -e '.[bench]'`).
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

class _Data:
    Open: npt.NDArray[np.float64]
    High: npt.NDArray[np.float64]
    Low: npt.NDArray[np.float64]
    Close: npt.NDArray[np.float64]
    def __len__(self) -> int: ...

class _Position:
    def __bool__(self) -> bool: ...
    def close(self, portion: float = ...) -> None: ...

class Strategy:
    data: _Data
    position: _Position
    def I(
        self, func: Callable[..., npt.NDArray[np.float64]], *args: Any, **kwargs: Any
    ) -> npt.NDArray[np.float64]: ...
    def buy(
        self,
        *,
        size: float = ...,
        limit: float | None = ...,
        stop: float | None = ...,
        sl: float | None = ...,
        tp: float | None = ...,
    ) -> object: ...
    def init(self) -> None: ...
    def next(self) -> None: ...

class Backtest:
    def __init__(
        self,
        data: pd.DataFrame,
        strategy: type[Strategy],
        *,
        cash: float = ...,
        commission: float = ...,
        exclusive_orders: bool = ...,
        finalize_trades: bool = ...,
    ) -> None: ...
    def run(self, **kwargs: Any) -> pd.Series[Any]: ...
