"""`PerformanceTracker`: the equity curve, closed trades and fills of a run, and their metrics.

Fed by the per-bar kernel (DESIGN §3, step 6): `record_bar` once per closed bar with the equity
marked at its close, `record_fill` for every fill (open positions included), `record_trade` when
a round trip closes. A fast backtest path may hand over many bars at once with `record_bars`;
both paths store the same arrays, so they give identical metrics.

Sans-IO: no pandas, no logging, no clock. Every annualised figure uses bar timestamps only:
years = (last bar time + bar_interval − first bar time) / 365.25 days.

Skipping quiet bars: a record stands for the bar time until the next record
(`metrics.record_weights`), so a caller may leave out bars whose equity and exposure equal the
previous record's (flat, nothing happening) without changing any metric except `n_bars` (up to
float rounding of time-weighted sums). The first and last bar of the run must be recorded (they
fix the span and the buy-and-hold closes).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import NamedTuple

import numpy as np

from atb.domain.fills import Fill, FillKind
from atb.domain.protocols import Trade
from atb.domain.sides import PositionSide
from atb.domain.timestamps import duration_ns, to_ns
from atb.domain.validation import require_aware_datetime, require_finite_positive
from atb.managers import metrics as mx
from atb.managers.performance_metrics import PerformanceMetrics

__all__ = ["PerformanceMetrics", "PerformanceTracker"]

_NS_PER_HOUR = 3_600 * 1_000_000_000
_EQUITY_OPTIONAL = (
    "cagr",
    "annual_volatility",
    "sharpe",
    "sortino",
    "calmar",
    "ulcer_index",
    "recovery_factor",
    "daily_var_95",
    "daily_cvar_95",
    "skew",
    "kurtosis",
    "best_day",
    "worst_day",
    "buy_and_hold_return",
    "excess_return",
    "exposure_time",
    "average_exposure",
)
"""Equity-curve metrics that are None until at least one bar is recorded."""


class _Bars(NamedTuple):
    times_ns: mx.IntArray
    equity: mx.FloatArray
    close: mx.FloatArray
    exposure: mx.FloatArray


class _TradeRow(NamedTuple):
    long: bool
    pnl: float
    notional: float
    exit_ns: int
    holding_ns: int


class PerformanceTracker:
    """Accumulates bars, trades and fills of one run; `metrics()` computes `PerformanceMetrics`.

    Units: equity in quote currency, close in quote per base unit, exposure as |position
    notional| / equity (0 when flat). Bars must arrive in strictly increasing time order.
    """

    __slots__ = (
        "_bar_chunks",
        "_bar_interval_ns",
        "_closes",
        "_equities",
        "_exposures",
        "_fees",
        "_initial_equity",
        "_last_ns",
        "_partial_exits",
        "_scale_ins",
        "_slippage",
        "_times",
        "_trades",
    )

    def __init__(self, initial_equity: float, bar_interval: timedelta) -> None:
        """Start a run with `initial_equity` (quote, > 0) on bars `bar_interval` apart."""
        require_finite_positive("initial_equity", initial_equity)
        if bar_interval <= timedelta(0):
            raise ValueError(f"bar_interval must be a positive timedelta, got {bar_interval!r}")
        self._initial_equity = float(initial_equity)
        self._bar_interval_ns = duration_ns(bar_interval)
        # Single bars are buffered in lists (cheap appends) and turned into an array chunk when a
        # bulk call arrives or metrics are asked for, so both paths end in the same arrays.
        self._bar_chunks: list[_Bars] = []
        self._times: list[int] = []
        self._equities: list[float] = []
        self._closes: list[float] = []
        self._exposures: list[float] = []
        self._last_ns: int | None = None
        self._trades: list[_TradeRow] = []
        self._fees = 0.0
        self._slippage = 0.0
        self._partial_exits = 0
        self._scale_ins = 0

    # --- feeding ------------------------------------------------------------------------------

    def record_bar(self, time: datetime, equity: float, close: float, exposure: float) -> None:
        """Record one closed bar: its time (aware, UTC), equity marked at its close (quote), its
        close price and the exposure at that close (|notional| / equity, 0 when flat)."""
        require_aware_datetime("time", time)
        time_ns = to_ns(time)
        if self._last_ns is not None and time_ns <= self._last_ns:
            raise ValueError(f"time must be after the previous bar, got {time!r}")
        if not math.isfinite(equity):
            raise ValueError(f"equity must be finite, got {equity!r}")
        require_finite_positive("close", close)
        if not math.isfinite(exposure) or exposure < 0:
            raise ValueError(f"exposure must be finite and >= 0, got {exposure!r}")
        self._times.append(time_ns)
        self._equities.append(float(equity))
        self._closes.append(float(close))
        self._exposures.append(float(exposure))
        self._last_ns = time_ns

    def record_bars(
        self,
        times_ns: np.ndarray,
        equity: np.ndarray,
        close: np.ndarray,
        exposure: np.ndarray,
    ) -> None:
        """Record many bars at once: times as int64 ns since the epoch (UTC) or datetime64,
        strictly increasing and after any bar already recorded; the other arrays as in
        `record_bar`."""
        bars = _Bars(
            _as_ns(times_ns),
            np.array(equity, dtype=np.float64),
            np.array(close, dtype=np.float64),
            np.array(exposure, dtype=np.float64),
        )
        n = bars.times_ns.size
        for name, values in zip(_Bars._fields, bars, strict=True):
            if values.ndim != 1 or len(values) != n:
                raise ValueError(f"{name} must be 1-D with {n} values, got shape {values.shape}")
        if n == 0:
            return
        first = int(bars.times_ns[0])
        if (self._last_ns is not None and first <= self._last_ns) or (
            np.diff(bars.times_ns) <= 0
        ).any():
            raise ValueError("times_ns must be strictly increasing and after the previous bar")
        _require_all("equity", bars.equity, np.isfinite(bars.equity), "finite")
        ok = np.isfinite(bars.close) & (bars.close > 0)
        _require_all("close", bars.close, ok, "finite and > 0")
        ok = np.isfinite(bars.exposure) & (bars.exposure >= 0)
        _require_all("exposure", bars.exposure, ok, "finite and >= 0")
        self._flush()
        self._bar_chunks.append(bars)
        self._last_ns = int(bars.times_ns[-1])

    def record_fill(self, fill: Fill) -> None:
        """Record one fill of any position, open or closed: adds its fee and slippage to the
        totals and counts partial exits and scale-ins. Call it once per fill; `record_trade`
        does not count legs again."""
        self._fees += fill.fee
        self._slippage += fill.slippage
        if fill.kind is FillKind.PARTIAL_EXIT:
            self._partial_exits += 1
        elif fill.kind is FillKind.SCALE_IN:
            self._scale_ins += 1

    def record_trade(self, trade: Trade) -> None:
        """Record a closed round trip (any object satisfying the `Trade` Protocol)."""
        pnl = float(trade.pnl)
        if not math.isfinite(pnl):
            raise ValueError(f"trade pnl must be finite, got {pnl!r}")
        notional = trade.entry_price * trade.quantity
        if not math.isfinite(notional) or notional <= 0:
            raise ValueError(f"trade entry notional must be finite and > 0, got {notional!r}")
        holding = trade.exit_time - trade.entry_time
        if holding < timedelta(0):
            raise ValueError(f"trade exit_time precedes entry_time: {trade.trade_id!r}")
        self._trades.append(
            _TradeRow(
                long=trade.side is PositionSide.LONG,
                pnl=pnl,
                notional=notional,
                exit_ns=to_ns(trade.exit_time),
                holding_ns=duration_ns(holding),
            )
        )

    # --- results ------------------------------------------------------------------------------

    def metrics(self) -> PerformanceMetrics:
        """Compute every metric from what was recorded so far (see `PerformanceMetrics`)."""
        self._flush()
        values: dict[str, float | int | None] = {
            "total_fees": self._fees,
            "total_slippage": self._slippage,
            "partial_exits_taken": self._partial_exits,
            "scale_ins_taken": self._scale_ins,
        }
        period_days = self._equity_metrics(values)
        values.update(_trade_metrics(self._trades, self._bar_interval_ns, period_days))
        # Safety net for the JSON promise: any non-finite float that slipped through is None.
        clean = {
            key: None if isinstance(v, float) and not math.isfinite(v) else v
            for key, v in values.items()
        }
        # The keys are checked at runtime by attrs (a missing or unknown one raises); mypy cannot
        # match a dict's value union to each field's own type.
        return PerformanceMetrics(**clean)  # type: ignore[arg-type]

    def _flush(self) -> None:
        if self._times:
            self._bar_chunks.append(
                _Bars(
                    np.array(self._times, dtype=np.int64),
                    np.array(self._equities, dtype=np.float64),
                    np.array(self._closes, dtype=np.float64),
                    np.array(self._exposures, dtype=np.float64),
                )
            )
            self._times, self._equities, self._closes, self._exposures = [], [], [], []
        if len(self._bar_chunks) > 1:
            # Keep one chunk so repeated metrics() calls do not re-concatenate the history.
            self._bar_chunks = [
                _Bars(*(np.concatenate(a) for a in zip(*self._bar_chunks, strict=True)))
            ]

    def _equity_metrics(self, out: dict[str, float | int | None]) -> float | None:
        """Fill `out` with the equity-curve metrics; return the span T in days (None: no bars)."""
        e0 = self._initial_equity
        out["initial_equity"] = e0
        out.update(dict.fromkeys(_EQUITY_OPTIONAL))
        out.update(
            final_equity=e0,
            net_profit=0.0,
            total_return=0.0,
            max_drawdown=0.0,
            max_drawdown_quote=0.0,
            max_drawdown_duration_bars=0,
            max_drawdown_duration_days=0.0,
            n_bars=0,
            n_days=0,
            period_days=0.0,
            years=0.0,
        )
        if not self._bar_chunks:
            return None
        times, equity, close, exposure = self._bar_chunks[0]
        interval = self._bar_interval_ns
        end_ns = int(times[-1]) + interval
        span_days = (end_ns - int(times[0])) / mx.NS_PER_DAY
        years = span_days / mx.DAYS_PER_YEAR
        final = float(equity[-1])
        total_return = final / e0 - 1.0
        weights = mx.record_weights(times, interval)
        dd, dd_quote = mx.drawdowns(equity, e0)
        max_dd = float(dd.max())
        max_dd_quote = float(dd_quote.max())
        underwater_ns = mx.longest_underwater_ns(times, dd > 0, end_ns)
        cagr = mx.cagr(final / e0, years)
        hold = float(close[-1] / close[0]) - 1.0
        out.update(
            final_equity=final,
            net_profit=final - e0,
            total_return=total_return,
            cagr=cagr,
            calmar=mx.ratio(cagr, max_dd),
            max_drawdown=max_dd,
            max_drawdown_quote=max_dd_quote,
            max_drawdown_duration_bars=round(underwater_ns / interval),
            max_drawdown_duration_days=underwater_ns / mx.NS_PER_DAY,
            ulcer_index=mx.ulcer_index(dd, weights),
            recovery_factor=mx.ratio(final - e0, max_dd_quote),
            buy_and_hold_return=hold,
            excess_return=total_return - hold,
            exposure_time=mx.time_share(exposure > 0, weights),
            average_exposure=mx.weighted_mean(exposure, weights),
            n_bars=len(times),
            period_days=span_days,
            years=years,
        )
        daily_values = mx.daily_equity(times, equity, e0)
        out["n_days"] = len(daily_values) - 1
        daily = mx.simple_returns(daily_values)
        if daily is not None:
            out.update(
                annual_volatility=mx.annual_volatility(daily),
                sharpe=mx.sharpe(daily),
                sortino=mx.sortino(daily),
                daily_var_95=mx.historical_var(daily),
                daily_cvar_95=mx.historical_cvar(daily),
                skew=mx.skewness(daily),
                kurtosis=mx.excess_kurtosis(daily),
                best_day=float(daily.max()),
                worst_day=float(daily.min()),
            )
        return span_days


def _as_ns(times: np.ndarray) -> mx.IntArray:
    # Refuse floats (silent truncation) and convert datetime64 of any unit through ns, so a
    # seconds-resolution array cannot be misread as nanoseconds.
    values = np.asarray(times)
    if values.dtype.kind == "M":
        return values.astype("datetime64[ns]").astype(np.int64)
    if values.dtype.kind not in "iu":
        raise ValueError(f"times_ns must be int64 ns or datetime64, got dtype {values.dtype}")
    return values.astype(np.int64)


def _require_all(name: str, values: mx.FloatArray, ok: mx.BoolArray, rule: str) -> None:
    if not ok.all():
        bad = int(np.flatnonzero(~ok)[0])
        raise ValueError(f"{name}[{bad}] must be {rule}, got {values[bad]!r}")


def _trade_metrics(
    trades: list[_TradeRow], interval_ns: int, period_days: float | None
) -> dict[str, float | int | None]:
    """Trade statistics over closed trades in exit-time order (stable for equal exit times)."""
    rows = sorted(trades, key=lambda row: row.exit_ns)
    pnl = np.array([row.pnl for row in rows], dtype=np.float64)
    is_long = np.array([row.long for row in rows], dtype=np.bool_)
    wins, losses = pnl > 0, pnl < 0
    n = len(rows)
    gross_profit = float(pnl[wins].sum())
    gross_loss = -float(pnl[losses].sum())
    avg_win = float(pnl[wins].mean()) if wins.any() else None
    avg_loss = float(pnl[losses].mean()) if losses.any() else None
    win_rate = int(wins.sum()) / n if n else None
    payoff = mx.ratio(avg_win, abs(avg_loss)) if avg_loss is not None else None
    holding = np.array([row.holding_ns for row in rows], dtype=np.float64)
    notional = np.array([row.notional for row in rows], dtype=np.float64)
    out: dict[str, float | int | None] = {
        "n_trades": n,
        "n_wins": int(wins.sum()),
        "n_losses": int(losses.sum()),
        "win_rate": win_rate,
        "gross_profit": gross_profit,
        "gross_loss": gross_loss,
        "profit_factor": mx.ratio(gross_profit, gross_loss),
        "expectancy": float(pnl.mean()) if n else None,
        "avg_trade_return": float((pnl / notional).mean()) if n else None,
        "payoff_ratio": payoff,
        "avg_win": avg_win,
        "avg_loss": avg_loss,
        "largest_win": float(pnl[wins].max()) if wins.any() else None,
        "largest_loss": float(pnl[losses].min()) if losses.any() else None,
        "max_consecutive_wins": mx.max_streak(wins),
        "max_consecutive_losses": mx.max_streak(losses),
        "avg_holding_hours": float(holding.mean()) / _NS_PER_HOUR if n else None,
        "avg_holding_bars": float(holding.mean()) / interval_ns if n else None,
        "trades_per_day": mx.ratio(float(n), period_days),
        "sqn": mx.sqn(pnl),
        "kelly": mx.kelly(win_rate, payoff),
    }
    for prefix, side in (("long", is_long), ("short", ~is_long)):
        side_n = int(side.sum())
        out[f"{prefix}_trades"] = side_n
        out[f"{prefix}_win_rate"] = int((wins & side).sum()) / side_n if side_n else None
        out[f"{prefix}_pnl"] = float(pnl[side].sum())
    return out
