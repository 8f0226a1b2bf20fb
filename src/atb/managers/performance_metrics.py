"""`PerformanceMetrics`: the frozen result of `PerformanceTracker.metrics()`.

Notation used in the field docs: E_0 initial equity; e_i equity marked at the close of recorded
bar i (i = 1…n, time t_i); c_i that bar's close; x_i its exposure; w_i the bar time record i
stands for (t_{i+1} − t_i, and bar_interval for the last one); T = t_n + bar_interval − t_1 the
span of the run; r_k the daily returns (UTC calendar days, see `metrics.daily_equity`); p_j the
net PnL (after fees) of closed trade j in exit-time order.

Units: fractions are plain ratios (0.05 = 5 %); money is quote currency. A value that is
undefined for the run (no bars, no trades, too few days, a zero denominator) is None, never NaN
or an infinity, so `as_dict()` is JSON-safe.
"""

from __future__ import annotations

from datetime import timedelta

import attrs


@attrs.frozen(slots=True, kw_only=True)
class PerformanceMetrics:
    """Every metric of a run, from the equity curve, the closed trades and the fills.

    Degenerate cases: no bars → return-based figures are None (total return 0, final equity =
    initial); no trades → trade statistics are None and counts 0; no losing trade → profit
    factor, payoff ratio and Kelly are None (not +inf); zero volatility → Sharpe and Sortino
    are None.
    """

    # --- equity curve -------------------------------------------------------------------------
    initial_equity: float
    """E_0, quote currency."""
    final_equity: float
    """e_n (E_0 when no bar was recorded), quote currency."""
    net_profit: float
    """e_n − E_0, quote currency."""
    total_return: float
    """e_n / E_0 − 1, fraction."""
    cagr: float | None
    """(e_n / E_0)^(1 / years) − 1 with years = T / 365.25 days; −1 if e_n ≤ 0; fraction per
    year. None without bars."""
    annual_volatility: float | None
    """std(r, ddof=1) × √365, fraction per year. None with < 2 daily returns."""
    sharpe: float | None
    """mean(r) / std(r, ddof=1) × √365 (risk-free 0), dimensionless. None when std = 0."""
    sortino: float | None
    """mean(r) / √(mean(min(r, 0)²)) × √365, dimensionless. None with no losing day."""
    calmar: float | None
    """CAGR / max_drawdown, dimensionless. None when max drawdown = 0."""
    max_drawdown: float
    """max_i (1 − e_i / peak_i), peak_i = max(E_0, e_1…e_i); fraction in [0, 1] for positive
    equity."""
    max_drawdown_quote: float
    """max_i (peak_i − e_i), quote currency."""
    max_drawdown_duration_bars: int
    """Longest time below the running peak (first bar under water → first bar back at the
    peak, or T's end), divided by bar_interval and rounded; bars."""
    max_drawdown_duration_days: float
    """The same duration in days (86 400 s)."""
    ulcer_index: float | None
    """√(Σ w_i·dd_i² / Σ w_i), dd_i = 1 − e_i / peak_i; fraction. None without bars."""
    recovery_factor: float | None
    """net_profit / max_drawdown_quote, dimensionless. None when max drawdown = 0."""
    daily_var_95: float | None
    """Historical VaR 95 %: the 5th percentile of r (numpy linear interpolation); a signed
    daily return (a loss is negative). None without daily returns."""
    daily_cvar_95: float | None
    """Historical CVaR 95 %: mean of the r ≤ daily_var_95; signed daily return."""
    skew: float | None
    """m3 / m2^1.5 of r (population moments m_k = mean((r − r̄)^k)); dimensionless. None with
    < 3 days or zero variance."""
    kurtosis: float | None
    """Excess kurtosis m4 / m2² − 3 of r; dimensionless. None with < 4 days or zero variance."""
    best_day: float | None
    """max(r), fraction."""
    worst_day: float | None
    """min(r), fraction."""
    buy_and_hold_return: float | None
    """c_n / c_1 − 1 (close of the first recorded bar to the last), fraction."""
    excess_return: float | None
    """total_return − buy_and_hold_return, fraction."""
    exposure_time: float | None
    """Time in market: Σ w_i·[x_i > 0] / Σ w_i, fraction of bar time."""
    average_exposure: float | None
    """Σ w_i·x_i / Σ w_i, x = |position notional| / equity; fraction of equity."""

    # --- trades -------------------------------------------------------------------------------
    n_trades: int
    """Closed trades recorded, count."""
    n_wins: int
    """Trades with p_j > 0, count."""
    n_losses: int
    """Trades with p_j < 0, count (p_j = 0 is neither a win nor a loss)."""
    win_rate: float | None
    """n_wins / n_trades, fraction."""
    gross_profit: float
    """Σ p_j over wins, quote currency (≥ 0)."""
    gross_loss: float
    """−Σ p_j over losses, quote currency (≥ 0)."""
    profit_factor: float | None
    """gross_profit / gross_loss, dimensionless. None when there is no loss."""
    expectancy: float | None
    """mean(p_j), quote currency per trade."""
    avg_trade_return: float | None
    """mean(p_j / (entry_price_j × quantity_j)), fraction of entry notional per trade."""
    payoff_ratio: float | None
    """avg_win / |avg_loss|, dimensionless. None without a win or without a loss."""
    avg_win: float | None
    """mean(p_j) over wins, quote currency."""
    avg_loss: float | None
    """mean(p_j) over losses, quote currency (negative)."""
    largest_win: float | None
    """max(p_j) over wins, quote currency."""
    largest_loss: float | None
    """min(p_j) over losses, quote currency (negative)."""
    max_consecutive_wins: int
    """Longest run of wins in exit-time order, count (a breakeven trade breaks a run)."""
    max_consecutive_losses: int
    """Longest run of losses in exit-time order, count."""
    avg_holding_hours: float | None
    """mean(exit_time_j − entry_time_j), hours."""
    avg_holding_bars: float | None
    """mean(exit_time_j − entry_time_j) / bar_interval, bars."""
    trades_per_day: float | None
    """n_trades / (T in days), trades per day. None without bars."""
    sqn: float | None
    """√N × mean(p) / std(p, ddof=1), dimensionless. None with < 2 trades or std = 0."""
    kelly: float | None
    """win_rate − (1 − win_rate) / payoff_ratio, fraction of equity. None when the payoff is."""

    # --- long / short breakdown ---------------------------------------------------------------
    long_trades: int
    """Closed long trades, count."""
    long_win_rate: float | None
    """Long wins / long trades, fraction."""
    long_pnl: float
    """Σ p_j over long trades, quote currency."""
    short_trades: int
    """Closed short trades, count."""
    short_win_rate: float | None
    """Short wins / short trades, fraction."""
    short_pnl: float
    """Σ p_j over short trades, quote currency."""

    # --- costs and legs (from every recorded fill, open positions included) ------------------
    total_fees: float
    """Σ fee over recorded fills, quote currency."""
    total_slippage: float
    """Σ slippage cost over recorded fills, quote currency."""
    partial_exits_taken: int
    """Recorded fills of kind PARTIAL_EXIT, count."""
    scale_ins_taken: int
    """Recorded fills of kind SCALE_IN, count."""

    # --- run ----------------------------------------------------------------------------------
    n_bars: int
    """Bars recorded, count (a fast path that skips quiet bars records fewer)."""
    n_days: int
    """Daily returns: UTC calendar days from the first bar's day to the last's, count."""
    period_days: float
    """T in days (bar time, never the wall clock)."""
    years: float
    """T / 365.25 days, years."""

    @property
    def max_drawdown_duration(self) -> timedelta:
        """`max_drawdown_duration_days` as a timedelta."""
        return timedelta(days=self.max_drawdown_duration_days)

    @property
    def avg_holding_time(self) -> timedelta | None:
        """`avg_holding_hours` as a timedelta (None without trades)."""
        if self.avg_holding_hours is None:
            return None
        return timedelta(hours=self.avg_holding_hours)

    def as_dict(self) -> dict[str, float | int | None]:
        """Every field by name, in declaration order (stable); values are finite or None."""
        return {field.name: getattr(self, field.name) for field in attrs.fields(type(self))}
