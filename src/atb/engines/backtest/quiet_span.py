"""Skipping quiet bars: the backtest's fast path, proven equal to stepping every bar.

A bar is *quiet* when the kernel step would change nothing but marks: no pending order, the
strategy's signal mask promises HOLD, no resting level is in the bar's range, the trailing stop
cannot move, no time exit fires, and the drawdown tier and close-only latch stay put. Over a
run of quiet bars only equity, the equity peak and the excursions move,
and those are computed here with numpy using the very formulas of the scalar step.

Every test here is a *sufficient* condition for quietness (with safety margins where rounding
could matter): a bar wrongly judged eventful just costs one ordinary kernel step, never a
different result. `tests/integration/test_quiet_span_parity.py` proves both paths identical.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Generic, TypeVar

import attrs
import numpy as np
import numpy.typing as npt

from atb.domain.policies import TrailReference
from atb.domain.protocols import Position
from atb.domain.sides import PositionSide
from atb.managers.book import KernelContext
from atb.managers.fills import Trigger, levels_for_exit
from atb.managers.kernel_state import KernelState
from atb.managers.positions import PositionChanges

P = TypeVar("P", bound=Position)
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_FIRST_WINDOW = 32
_MAX_WINDOW = 1 << 16
_MARGIN = 1e-9
"""Relative safety margin on price and move comparisons, far above float noise."""


@attrs.frozen(slots=True)
class BarArrays:
    """The candles of a run as contiguous arrays (bar open times in int64 ns, UTC)."""

    times_ns: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __len__(self) -> int:
        return len(self.close)

    def time(self, index: int) -> datetime:
        """Bar open time of row `index` as an aware datetime."""
        return datetime.fromtimestamp(int(self.times_ns[index]) / 1e9, tz=UTC)


@attrs.frozen(slots=True)
class QuietSpan(Generic[P]):
    """Bars [start, end) advanced in bulk: the state after them, and their equity/exposure."""

    end: int
    state: KernelState[P]
    equity: FloatArray
    exposure: FloatArray


class QuietSpanFinder(Generic[P]):
    """Finds and advances quiet spans for one kernel over one run's arrays."""

    def __init__(self, context: KernelContext[P], bars: BarArrays, signal_mask: BoolArray) -> None:
        self.context = context
        self.bars = bars
        self.signals = np.flatnonzero(signal_mask)
        self.interval_ns = int(context.bar_interval.total_seconds() * 1e9)

    def next_signal(self, start: int) -> int:
        """Index of the first bar ≥ `start` whose signal mask is set (len(bars) when none)."""
        position = int(np.searchsorted(self.signals, start))
        return int(self.signals[position]) if position < len(self.signals) else len(self.bars)

    def advance(self, state: KernelState[P], start: int, stop: int) -> QuietSpan[P] | None:
        """Advance over the quiet bars from `start` (before `stop`); None when `start` is not
        quiet."""
        if state.pending:
            return None
        stop = min(stop, self.next_signal(start))
        if stop <= start:
            return None
        if state.position is None and self._flat_is_quiet(state):
            # Flat: equity is the cash on every bar, so nothing can happen before the signal.
            return self._advanced(state, start, stop, np.full(stop - start, state.cash))
        end = start
        window = _FIRST_WINDOW
        chunks: list[FloatArray] = []
        while end < stop:
            chunk_end = min(stop, end + window)
            equity = self._equity(state, end, chunk_end)
            eventful = self._eventful(state, end, chunk_end, equity)
            if eventful.any():
                first = int(np.argmax(eventful))
                chunks.append(equity[:first])
                end += first
                break
            chunks.append(equity)
            end = chunk_end
            window = min(window * 4, _MAX_WINDOW)
        if end == start:
            return None
        return self._advanced(state, start, end, np.concatenate(chunks))

    def _flat_is_quiet(self, state: KernelState[P]) -> bool:
        """Whether a flat account's constant drawdown keeps the tier and the latch as they are."""
        equity = np.full(1, state.cash)
        return not bool(self._risk_changes(state, equity)[0])

    # -- what can happen on a bar --------------------------------------------------------------
    def _equity(self, state: KernelState[P], start: int, end: int) -> FloatArray:
        close = self.bars.close[start:end]
        position = state.position
        if position is None:
            return np.full(end - start, state.cash)
        # Same operation order as `unrealized_pnl`: sign × (mark − entry) × quantity.
        return state.cash + position.side.sign * (close - position.entry_price) * position.quantity

    def _eventful(
        self, state: KernelState[P], start: int, end: int, equity: FloatArray
    ) -> BoolArray:
        eventful = self._risk_changes(state, equity)
        position = state.position
        if position is not None:
            eventful |= self._levels_reached(position, start, end, state.close_only)
            eventful |= self._trailing_moves(position, start, end)
            eventful |= self._time_exit(position, start, end)
        return eventful

    def _risk_changes(self, state: KernelState[P], equity: FloatArray) -> BoolArray:
        changes = np.zeros(len(equity), dtype=np.bool_)
        config = self.context.config
        limit = config.risk.max_drawdown
        if config.dynamic_risk is None and (limit is None or state.close_only):
            return changes
        peak = np.maximum(np.maximum.accumulate(equity), state.peak_equity)
        drawdown = np.maximum(0.0, 1.0 - equity / peak)
        if limit is not None and not state.close_only:
            changes |= drawdown >= limit * (1 - _MARGIN)
        dynamic = config.dynamic_risk
        if dynamic is not None:
            tiers = dynamic.tiers
            tier = state.tier.tier
            if tier < len(tiers):
                changes |= drawdown >= tiers[tier][0] * (1 - _MARGIN)
            if tier > 0:
                keep = 1.0 - dynamic.recovery_fraction
                changes |= drawdown <= tiers[tier - 1][0] * keep * (1 + _MARGIN)
        return changes

    def _levels_reached(self, position: P, start: int, end: int, close_only: bool) -> BoolArray:
        levels = levels_for_exit(position.side, position.stop_loss, position.take_profit)
        partials = position.policies.partials
        if partials is not None:
            levels += self.context.partials.levels(position, partials, not close_only)
        high, low = self.bars.high[start:end], self.bars.low[start:end]
        reached = np.zeros(end - start, dtype=np.bool_)
        ups = [level.price for level in levels if level.trigger is Trigger.UP]
        downs = [level.price for level in levels if level.trigger is Trigger.DOWN]
        if ups:
            reached |= high >= min(ups) * (1 - _MARGIN)
        if downs:
            reached |= low <= max(downs) * (1 + _MARGIN)
        return reached

    def _trailing_moves(self, position: P, start: int, end: int) -> BoolArray:
        policy = position.policies.trailing
        if policy is None:
            return np.zeros(end - start, dtype=np.bool_)
        if policy.atr_multiple is not None:
            # ATR distances change with every bar; step each bar rather than replicate them.
            return np.ones(end - start, dtype=np.bool_)
        side = position.side
        long = side is PositionSide.LONG
        if policy.reference is TrailReference.EXTREME:
            reference = self.bars.high[start:end] if long else self.bars.low[start:end]
        else:
            reference = self.bars.close[start:end]
        move = side.sign * (reference - position.entry_price) / position.entry_price
        moves = np.zeros(end - start, dtype=np.bool_)
        trigger = policy.breakeven_trigger_pct
        if not position.breakeven_active and trigger is not None:
            moves |= move >= trigger - _MARGIN
        if not position.trailing_active:
            moves |= move >= policy.activation_pct - _MARGIN
        else:
            candidate = reference - side.sign * reference * policy.distance_pct
            stop = position.stop_loss
            if stop is None:
                moves |= True
            else:
                # A candidate within a tick of the stop might round past it: treat as a move.
                tick = self.context.instrument.tick_size
                moves |= candidate > stop - tick if long else candidate < stop + tick
        return moves

    def _time_exit(self, position: P, start: int, end: int) -> BoolArray:
        policy = position.policies.time_exit
        if policy is None:
            return np.zeros(end - start, dtype=np.bool_)
        if policy.weekend_flat or policy.daily_flat_hour is not None:
            return np.ones(end - start, dtype=np.bool_)
        if policy.max_holding is None:
            return np.zeros(end - start, dtype=np.bool_)
        entry_ns = int(position.entry_time.timestamp() * 1e9)
        limit_ns = entry_ns + int(policy.max_holding.total_seconds() * 1e9)
        close_ns = self.bars.times_ns[start:end] + self.interval_ns
        return close_ns >= limit_ns - 1_000_000  # 1 ms margin for the float conversion

    # -- the bulk advance ----------------------------------------------------------------------
    def _advanced(
        self, state: KernelState[P], start: int, end: int, equity: FloatArray
    ) -> QuietSpan[P]:
        bars = self.bars
        position = state.position
        exposure = np.zeros(end - start)
        if position is not None:
            close = bars.close[start:end]
            positive = equity > 0
            exposure[positive] = position.quantity * close[positive] / equity[positive]
            high, low = float(bars.high[start:end].max()), float(bars.low[start:end].min())
            if position.side is PositionSide.LONG:
                best, worst = max(position.best_price, high), min(position.worst_price, low)
            else:
                best, worst = min(position.best_price, low), max(position.worst_price, high)
            if best != position.best_price or worst != position.worst_price:
                changes = PositionChanges(best_price=best, worst_price=worst)
                position = self.context.positions.update(position, changes)
        new_state = attrs.evolve(
            state,
            position=position,
            equity=float(equity[-1]),
            peak_equity=max(state.peak_equity, float(equity.max())),
        )
        return QuietSpan(end=end, state=new_state, equity=equity, exposure=exposure)
