"""Vectorised indicators with bounded look-back.

Every indicator here is a function of a fixed number of the most recent rows, and each output
value is computed from its own window in a fixed order (oldest to newest, one vector operation
per lag). So the value at a bar is bit-for-bit the same whether the series starts `window` bars
earlier or years earlier — the property the bias check and backtest/live parity rely on. (A
running sum, as in `pandas.rolling().mean()`, can differ in the last bits with history length;
recursive indicators such as Wilder's RSI or a classic EMA depend on all history.)

Conventions: inputs are pandas Series (float), outputs are float64 Series on the same index,
NaN until enough rows exist. `warm-up` below is the number of rows (the current one included)
that the first valid value needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from atb.deferred_modules import DeferredModule
from atb.managers import portable_math

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    FloatArray: TypeAlias = npt.NDArray[np.float64]
else:
    np = DeferredModule("numpy")
    pd = DeferredModule("pandas")


def _values(series: pd.Series[float]) -> FloatArray:
    return np.ascontiguousarray(series.to_numpy(dtype=np.float64))


def _series(values: FloatArray, like: pd.Series[float], name: str) -> pd.Series[float]:
    return pd.Series(values, index=like.index, name=name, dtype=np.float64)


def _check_window(window: int, what: str = "window") -> None:
    if window < 1:
        raise ValueError(f"{what} must be an int >= 1, got {window!r}")


def window_weighted_sum(values: FloatArray, weights: FloatArray) -> FloatArray:
    """`out[i] = sum(weights[k] * values[i - n + 1 + k] for k in 0..n-1)`, oldest first.

    `weights` are ordered oldest → newest; `out[i]` is NaN for `i < n - 1`.
    """
    n = len(weights)
    out = np.full(len(values), np.nan)
    count = len(values) - n + 1
    if n == 0 or count <= 0:
        return out
    acc = weights[0] * values[0:count]
    for k in range(1, n):
        acc += weights[k] * values[k : k + count]
    out[n - 1 :] = acc
    return out


def window_sum(values: FloatArray, window: int) -> FloatArray:
    """Sum of the last `window` values at each row (oldest first); NaN before `window` rows."""
    _check_window(window)
    out = np.full(len(values), np.nan)
    count = len(values) - window + 1
    if count <= 0:
        return out
    acc = values[0:count].copy()
    for k in range(1, window):
        acc += values[k : k + count]
    out[window - 1 :] = acc
    return out


def sum_at(values: FloatArray, window: int, end: int) -> float:
    """`window_sum(values, window)[end]` computed for that one row: the same additions in the
    same order (oldest first), so the same bits; NaN when fewer than `window` rows."""
    _check_window(window)
    start = end - window + 1
    if start < 0 or end >= len(values):
        return float("nan")
    total = values[start]
    for k in range(start + 1, end + 1):
        total += values[k]
    return float(total)


def sma_at(values: FloatArray, window: int, end: int) -> float:
    """`sma(values, window)` at row `end` alone (bit-identical; see `sum_at`)."""
    return float(np.float64(sum_at(values, window, end)) / window)


def sma(series: pd.Series[float], window: int) -> pd.Series[float]:
    """Simple moving average of the last `window` rows. Warm-up: `window`."""
    return _series(window_sum(_values(series), window) / window, series, f"sma_{window}")


def ema_weights(span: int, window: int) -> FloatArray:
    """Normalised EMA weights, oldest → newest: `(1 - a)^lag` with `a = 2 / (span + 1)`."""
    _check_window(span, "span")
    _check_window(window)
    alpha = 2.0 / (span + 1.0)
    lags = np.arange(window - 1, -1, -1, dtype=np.float64)
    raw = portable_math.powers(1.0 - alpha, lags)
    return np.asarray(raw / raw.sum(), dtype=np.float64)


def ema(series: pd.Series[float], span: int, window: int | None = None) -> pd.Series[float]:
    """Exponential moving average truncated to a fixed window. Warm-up: `window`.

    The classic EMA is recursive (every past row contributes); this one keeps the EMA weights
    `(1 - a)^lag`, `a = 2 / (span + 1)`, for the last `window` rows only (default `4 × span`,
    which keeps ~98 % of the classic weight) and renormalises them to sum to one.
    """
    size = 4 * span if window is None else window
    weights = ema_weights(span, size)
    return _series(window_weighted_sum(_values(series), weights), series, f"ema_{span}")


def rsi(close: pd.Series[float], window: int = 14) -> pd.Series[float]:
    """Relative strength index in [0, 100], Cutler's form (simple averages). Warm-up: `window+1`.

    `RSI = 100 × avg_gain / (avg_gain + avg_loss)` over the last `window` close-to-close
    changes (equal to `100 − 100 / (1 + RS)`); 50 when the price did not move. Wilder's
    smoothing is recursive, so it is not used.
    """
    _check_window(window)
    values = _values(close)
    change = np.full(len(values), np.nan)
    change[1:] = np.diff(values)
    gains = window_sum(np.maximum(change, 0.0), window)
    losses = window_sum(np.maximum(-change, 0.0), window)
    total = gains + losses
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total > 0, 100.0 * gains / total, 50.0)
    out[np.isnan(total)] = np.nan
    return _series(out, close, f"rsi_{window}")


def rsi_at(values: FloatArray, window: int, end: int) -> float:
    """`rsi(values, window)` at row `end` alone, from its `window + 1` closes: the same
    differences, sums (oldest first) and division, so the same bits; NaN without them."""
    _check_window(window)
    first = end - window
    if first < 0 or end >= len(values):
        return float("nan")
    change = np.diff(values[first : end + 1])
    gains = sum_at(np.maximum(change, 0.0), window, window - 1)
    losses = sum_at(np.maximum(-change, 0.0), window, window - 1)
    total = gains + losses
    return float(100.0 * np.float64(gains) / total) if total > 0 else 50.0


def extreme_at(values: FloatArray, window: int, end: int, *, highest: bool) -> float:
    """`rolling_max` (or `rolling_min`) of `values` at row `end` alone; NaN without `window`
    rows (a maximum or minimum is exact: no arithmetic to repeat)."""
    _check_window(window)
    start = end - window + 1
    if start < 0 or end >= len(values):
        return float("nan")
    part = values[start : end + 1]
    return float(part.max() if highest else part.min())


def log_return_at(values: FloatArray, lag: int, end: int) -> float:
    """`log_return(values, lag)` at row `end` alone (the same division and logarithm); NaN
    without `lag + 1` rows."""
    _check_window(lag, "lag")
    if end - lag < 0 or end >= len(values):
        return float("nan")
    ratio = values[end : end + 1] / values[end - lag : end - lag + 1]
    return float(portable_math.log(ratio)[0])


def std_at(values: FloatArray, window: int, end: int, ddof: int = 0) -> float:
    """`rolling_std(values, window, ddof)` at row `end` alone: the window's mean, then the
    squared deviations summed oldest first, as the vector form does; NaN without the rows."""
    _check_window(window)
    start = end - window + 1
    if start < 0 or end >= len(values):
        return float("nan")
    mean = np.float64(sum_at(values, window, end)) / window
    acc = np.float64(0.0)
    for k in range(start, end + 1):
        deviation = values[k] - mean
        acc += deviation * deviation
    return float(np.sqrt(acc / (window - ddof)))


def zscore_at(values: FloatArray, window: int, end: int) -> float:
    """`rolling_zscore(values, window)` at row `end` alone (bit-identical)."""
    std = std_at(values, window, end)
    if np.isnan(std):
        return float("nan")
    if not std > 0:
        return 0.0
    mean = np.float64(sum_at(values, window, end)) / window
    return float((values[end] - mean) / std)


def minmax_at(values: FloatArray, window: int, end: int) -> float:
    """`rolling_minmax(values, window)` at row `end` alone (bit-identical)."""
    low = extreme_at(values, window, end, highest=False)
    high = extreme_at(values, window, end, highest=True)
    span = np.float64(high) - low
    if np.isnan(span):
        return float("nan")
    return float((values[end] - low) / span) if span > 0 else 0.5


def atr_at(high: FloatArray, low: FloatArray, close: FloatArray, window: int, end: int) -> float:
    """`atr(high, low, close, window)` at row `end` alone: the window's true ranges (each from
    its previous close) summed oldest first; NaN without `window + 1` rows."""
    _check_window(window)
    start = end - window + 1
    if start < 1 or end >= len(close):
        return float("nan")
    rows = slice(start, end + 1)
    h, lo, prev = high[rows], low[rows], close[start - 1 : end]
    with np.errstate(invalid="ignore"):
        ranges = np.maximum(h - lo, np.maximum(np.abs(h - prev), np.abs(lo - prev)))
    return float(np.float64(sum_at(ranges, window, window - 1)) / window)


def true_range(
    high: pd.Series[float], low: pd.Series[float], close: pd.Series[float]
) -> pd.Series[float]:
    """`max(high − low, |high − prev_close|, |low − prev_close|)`; NaN on the first row."""
    h, lo, c = _values(high), _values(low), _values(close)
    prev = np.full(len(c), np.nan)
    prev[1:] = c[:-1]
    with np.errstate(invalid="ignore"):
        out = np.maximum(h - lo, np.maximum(np.abs(h - prev), np.abs(lo - prev)))
    if len(out):
        out[0] = np.nan
    return _series(out, close, "true_range")


def atr(
    high: pd.Series[float], low: pd.Series[float], close: pd.Series[float], window: int = 14
) -> pd.Series[float]:
    """Average true range: the simple mean of the last `window` true ranges (price units).

    Warm-up: `window + 1` (the first true range needs a previous close).
    """
    tr = _values(true_range(high, low, close))
    return _series(window_sum(tr, window) / window, close, f"atr_{window}")


def rolling_std(series: pd.Series[float], window: int, ddof: int = 0) -> pd.Series[float]:
    """Standard deviation of the last `window` rows (two-pass, per window). Warm-up: `window`."""
    _check_window(window)
    if window - ddof < 1:
        raise ValueError(f"window {window} too small for ddof {ddof}")
    values = _values(series)
    mean = window_sum(values, window) / window
    out = np.full(len(values), np.nan)
    count = len(values) - window + 1
    if count > 0:
        centre = mean[window - 1 :]
        acc = np.zeros(count)
        for k in range(window):
            deviation = values[k : k + count] - centre
            acc += deviation * deviation
        out[window - 1 :] = np.sqrt(acc / (window - ddof))
    return _series(out, series, f"std_{window}")


def rolling_zscore(series: pd.Series[float], window: int) -> pd.Series[float]:
    """`(x − mean) / std` over the last `window` rows (population std); 0 where std is 0.

    Warm-up: `window`.
    """
    values = _values(series)
    mean = window_sum(values, window) / window
    std = _values(rolling_std(series, window))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(std > 0, (values - mean) / std, 0.0)
    out[np.isnan(std)] = np.nan
    return _series(out, series, f"zscore_{window}")


def _rolling_extreme(values: FloatArray, window: int, take_max: bool) -> FloatArray:
    out = np.full(len(values), np.nan)
    if len(values) >= window:
        view = np.lib.stride_tricks.sliding_window_view(values, window)
        # min/max are exact whatever the reduction order, so this stays history-independent.
        out[window - 1 :] = view.max(axis=1) if take_max else view.min(axis=1)
    return out


def rolling_max(series: pd.Series[float], window: int) -> pd.Series[float]:
    """Maximum of the last `window` rows. Warm-up: `window`."""
    _check_window(window)
    return _series(_rolling_extreme(_values(series), window, True), series, f"max_{window}")


def rolling_min(series: pd.Series[float], window: int) -> pd.Series[float]:
    """Minimum of the last `window` rows. Warm-up: `window`."""
    _check_window(window)
    return _series(_rolling_extreme(_values(series), window, False), series, f"min_{window}")


def rolling_minmax(series: pd.Series[float], window: int) -> pd.Series[float]:
    """Position of `x` within the last `window` rows' range, in [0, 1]; 0.5 for a flat range.

    Warm-up: `window`.
    """
    _check_window(window)
    values = _values(series)
    low = _rolling_extreme(values, window, False)
    high = _rolling_extreme(values, window, True)
    span = high - low
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(span > 0, (values - low) / span, 0.5)
    out[np.isnan(span)] = np.nan
    return _series(out, series, f"minmax_{window}")


def log_return(close: pd.Series[float], lag: int = 1) -> pd.Series[float]:
    """`ln(close[i] / close[i − lag])`. Warm-up: `lag + 1`."""
    _check_window(lag, "lag")
    values = _values(close)
    out = np.full(len(values), np.nan)
    if len(values) > lag:
        out[lag:] = portable_math.log(values[lag:] / values[:-lag])
    return _series(out, close, f"logret_{lag}")
