"""Pure metric functions over numpy arrays, used by `PerformanceTracker`.

Conventions (shared by every function here):

- Returns and drawdowns are fractions (0.05 = 5 %); money is quote currency; times are int64
  nanoseconds since the Unix epoch, UTC.
- A value that is mathematically undefined for the input (too few points, a zero denominator)
  is returned as None, never NaN or an infinity, so results stay JSON-safe.
- A standard deviation at or below `ZERO_STD` counts as zero: a constant daily return built
  from float products can leave a residue of ~1e-18, and dividing by it would report an absurd
  ratio instead of "undefined".

No pandas, no IO, no clock: everything is derived from the arrays passed in.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from atb.managers.portable_math import exact_sum

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

NS_PER_DAY = 86_400 * 1_000_000_000
"""Nanoseconds in one UTC calendar day."""

DAYS_PER_YEAR = 365.25
"""Calendar days in a year, for annualising a span of bar time (CAGR)."""

TRADING_DAYS_PER_YEAR = 365
"""Crypto trades every day: daily figures are annualised with √365."""

ZERO_STD = 1e-12
"""A standard deviation (daily returns or trade PnL) at or below this is treated as zero."""

VAR_LEVEL = 0.95
"""Confidence level of the historical VaR and CVaR."""


def record_weights(times_ns: IntArray, interval_ns: int) -> IntArray:
    """Time each record stands for: w_i = t_{i+1} − t_i, and w_n = bar_interval (ns).

    A record holds until the next one, so a bar before a data gap (or before quiet bars a fast
    path skipped) weighs the whole stretch; Σ w = t_n + bar_interval − t_1.
    """
    weights = np.empty_like(times_ns)
    weights[:-1] = np.diff(times_ns)
    weights[-1:] = interval_ns
    return weights


def weighted_mean(values: FloatArray, weights: IntArray) -> float:
    """Σ w_i·x_i / Σ w_i (weights are record durations in ns, see `record_weights`).

    The sum is exactly rounded (`exact_sum`, i.e. `math.fsum`), not `np.dot`: BLAS dot
    products may sum in an order that depends on the CPU, the library build and the array's
    alignment, and a metric must be bit-identical on every machine and every run.
    """
    return exact_sum(values * weights.astype(np.float64)) / float(weights.sum())


_EXACT_INT = 2**53
"""Integers up to this size are exact as float64."""


def time_share(flags: BoolArray, weights: IntArray) -> float:
    """`weighted_mean` of a 0/1 flag (the share of time it is set), from integer sums.

    Each product is then a weight, an integer exact as a float (below 2**53 ns, 104 days), and
    the exactly rounded sum of exact values is the rounded integer sum: the same bits as
    `weighted_mean`, without a `math.fsum` pass over a million floats. A longer gap between two
    records takes `weighted_mean` itself.
    """
    if len(weights) and int(weights.max()) > _EXACT_INT:
        return weighted_mean(flags.astype(np.float64), weights)
    return float(int(weights[flags].sum())) / float(weights.sum())


def drawdowns(equity: FloatArray, initial_equity: float) -> tuple[FloatArray, FloatArray]:
    """Per-record drawdown from the running peak, as (fraction, quote).

    peak_i = max(E_0, e_1, …, e_i) (the initial equity counts as the first peak);
    dd_i = 1 − e_i / peak_i (fraction) and peak_i − e_i (quote). Both are ≥ 0.
    """
    peak = np.maximum.accumulate(np.maximum(equity, initial_equity))
    return 1.0 - equity / peak, peak - equity


def longest_underwater_ns(times_ns: IntArray, underwater: BoolArray, end_ns: int) -> int:
    """Longest stretch of bar time spent below the running peak, in ns.

    A stretch starts at the first record under the peak and ends at the first later record back
    at (or above) the peak, or at `end_ns` (last bar time + bar_interval) if it never recovers.
    Measured in time rather than records, so skipped quiet bars and data gaps count in full.
    """
    if not underwater.any():
        return 0
    flags = underwater.astype(np.int8)
    edges = np.diff(np.concatenate(([0], flags, [0])))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)  # index of the first record back at the peak
    bounds = np.append(times_ns, np.int64(end_ns))
    return int((bounds[stops] - times_ns[starts]).max())


def ulcer_index(drawdown: FloatArray, weights: IntArray) -> float:
    """Ulcer index = √(Σ w_i·dd_i² / Σ w_i), dd as a fraction (0.05 = 5 %), time-weighted."""
    return math.sqrt(weighted_mean(drawdown * drawdown, weights))


def daily_equity(times_ns: IntArray, equity: FloatArray, initial_equity: float) -> FloatArray:
    """Equity at the end of each UTC calendar day from the first bar's day to the last's.

    d_0 = initial equity (before the first bar); d_k = equity of the last record on or before
    calendar day k (a day with no record carries the previous value, i.e. a 0 % return).
    """
    days = times_ns // NS_PER_DAY
    last_of_day = np.flatnonzero(np.diff(days) != 0)
    last_of_day = np.append(last_of_day, len(days) - 1)
    record_days = days[last_of_day]
    calendar = np.arange(record_days[0], record_days[-1] + 1, dtype=np.int64)
    idx = np.searchsorted(record_days, calendar, side="right") - 1
    return np.concatenate(([initial_equity], equity[last_of_day][idx]))


def simple_returns(values: FloatArray) -> FloatArray | None:
    """r_k = v_k / v_{k−1} − 1; None when a base v_{k−1} ≤ 0 makes a return meaningless."""
    if (values[:-1] <= 0).any():
        return None
    return values[1:] / values[:-1] - 1.0


def cagr(growth: float, years: float) -> float | None:
    """CAGR = (final / initial)^(1 / years) − 1; −1 when equity ended ≤ 0; None if years ≤ 0
    or the power overflows a float (a tiny span with a big return)."""
    if years <= 0:
        return None
    if growth <= 0:
        return -1.0
    try:
        return math.exp(math.log(growth) / years) - 1.0
    except OverflowError:
        return None


def annual_volatility(daily: FloatArray) -> float | None:
    """σ_annual = std(r_daily, ddof=1) × √365; None with fewer than 2 daily returns."""
    if len(daily) < 2:
        return None
    return float(np.std(daily, ddof=1)) * math.sqrt(TRADING_DAYS_PER_YEAR)


def sharpe(daily: FloatArray) -> float | None:
    """Sharpe = mean(r_daily) / std(r_daily, ddof=1) × √365 (risk-free rate 0).

    None with fewer than 2 daily returns or a (numerically) zero standard deviation.
    """
    if len(daily) < 2:
        return None
    std = float(np.std(daily, ddof=1))
    if std <= ZERO_STD:
        return None
    return float(np.mean(daily)) / std * math.sqrt(TRADING_DAYS_PER_YEAR)


def downside_deviation(daily: FloatArray) -> float:
    """DD = √(mean(min(r_daily, 0)²)) over every day (target return 0)."""
    below = np.minimum(daily, 0.0)
    return math.sqrt(float(np.mean(below * below)))


def sortino(daily: FloatArray) -> float | None:
    """Sortino = mean(r_daily) / DD × √365, DD = `downside_deviation`.

    None with fewer than 2 daily returns or no losing day (DD = 0).
    """
    if len(daily) < 2:
        return None
    dd = downside_deviation(daily)
    if dd <= ZERO_STD:
        return None
    return float(np.mean(daily)) / dd * math.sqrt(TRADING_DAYS_PER_YEAR)


def historical_var(daily: FloatArray, level: float = VAR_LEVEL) -> float:
    """VaR = q_{1−level}(r_daily), numpy's linear-interpolation quantile; a signed return, so
    a loss shows as negative (−0.03: on 5 % of days the return was −3 % or worse)."""
    return float(np.quantile(daily, 1.0 - level))


def historical_cvar(daily: FloatArray, level: float = VAR_LEVEL) -> float:
    """CVaR (expected shortfall) = mean of the daily returns ≤ VaR; signed like VaR, ≤ VaR."""
    var = historical_var(daily, level)
    return float(np.mean(daily[daily <= var]))


def _central_moments(values: FloatArray) -> tuple[float, float, float]:
    centred = values - np.mean(values)
    sq = centred * centred
    return float(np.mean(sq)), float(np.mean(sq * centred)), float(np.mean(sq * sq))


def skewness(values: FloatArray) -> float | None:
    """Skew g1 = m3 / m2^1.5 with population central moments m_k = mean((x − x̄)^k).

    None with fewer than 3 values or zero variance.
    """
    if len(values) < 3:
        return None
    m2, m3, _ = _central_moments(values)
    if math.sqrt(m2) <= ZERO_STD:
        return None
    return m3 / (m2 * math.sqrt(m2))


def excess_kurtosis(values: FloatArray) -> float | None:
    """Excess kurtosis g2 = m4 / m2² − 3 (population central moments; a normal gives 0).

    None with fewer than 4 values or zero variance.
    """
    if len(values) < 4:
        return None
    m2, _, m4 = _central_moments(values)
    if math.sqrt(m2) <= ZERO_STD:
        return None
    return m4 / (m2 * m2) - 3.0


def max_streak(flags: BoolArray) -> int:
    """Longest run of consecutive True values (0 for none)."""
    if not flags.any():
        return 0
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    return int((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max())


def sqn(pnl: FloatArray) -> float | None:
    """System Quality Number = √N × mean(pnl) / std(pnl, ddof=1), over per-trade net PnL.

    None with fewer than 2 trades or a zero standard deviation.
    """
    if len(pnl) < 2:
        return None
    std = float(np.std(pnl, ddof=1))
    if std <= ZERO_STD * max(1.0, float(np.max(np.abs(pnl)))):
        return None
    return math.sqrt(len(pnl)) * float(np.mean(pnl)) / std


def kelly(win_rate: float | None, payoff: float | None) -> float | None:
    """Kelly fraction = p − (1 − p) / b, p = win rate, b = payoff ratio; None if either is."""
    if win_rate is None or payoff is None:
        return None
    return win_rate - (1.0 - win_rate) / payoff


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is None or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator
