"""Vectorised signal helpers for `features(frame)`: crossovers and threshold crossings.

Each returns a boolean Series aligned with its input that is True only on the bar where the
event happens, and False where either side is NaN (warm-up) — so the column can serve directly
as the strategy's `may_act` mask. `b` may be a Series or a constant level (a threshold).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from atb.deferred_modules import DeferredModule

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    FloatArray: TypeAlias = np.ndarray[tuple[int], np.dtype[np.float64]]
else:
    np = DeferredModule("numpy")
    pd = DeferredModule("pandas")

__all__ = ["crossed_above", "crossed_below", "crossing"]


def crossed_above(a: pd.Series[float], b: pd.Series[float] | float) -> pd.Series[bool]:
    """True on the bar where `a` ends above `b` after being at or below it on the bar before."""
    before, now = _differences(a, b)
    return pd.Series((now > 0) & (before <= 0), index=a.index, dtype=bool)


def crossed_below(a: pd.Series[float], b: pd.Series[float] | float) -> pd.Series[bool]:
    """True on the bar where `a` ends below `b` after being at or above it on the bar before."""
    before, now = _differences(a, b)
    return pd.Series((now < 0) & (before >= 0), index=a.index, dtype=bool)


def _differences(a: pd.Series[float], b: pd.Series[float] | float) -> tuple[FloatArray, FloatArray]:
    """`a − b` on the bar before (NaN on the first) and on each bar."""
    left = a.to_numpy(dtype=np.float64)
    right = b.to_numpy(dtype=np.float64) if isinstance(b, pd.Series) else np.float64(b)
    with np.errstate(invalid="ignore"):
        now = np.asarray(left - right, dtype=np.float64)
    before = np.empty_like(now)
    before[0:1] = np.nan
    before[1:] = now[:-1]
    return before, now


def crossing(before: float, now: float) -> int:
    """The newest bar alone (for `features_now`): +1 where `crossed_above` is True, −1 where
    `crossed_below` is, else 0 — given the difference `a − b` on the bar before and on this one."""
    if now > 0 and before <= 0:
        return 1
    if now < 0 and before >= 0:
        return -1
    return 0
