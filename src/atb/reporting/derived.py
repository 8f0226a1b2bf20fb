"""Figures derived from a `BacktestResult`, shared by `result.json`, the CSV files, the console
summary and the HTML report, so all four show the same numbers.

Definitions (the same as `PerformanceMetrics`):

- drawdown_i = 1 − e_i / peak_i with peak_i = max(E_0, e_1 … e_i) (a fraction, 0 at a peak);
- buy-and-hold equity_i = E_0 × c_i / c_1 (the initial balance invested at the first close);
- a month's return = equity at the month's last bar / equity at the previous month's last bar
  − 1, the first month measured from the initial balance.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

import attrs
import numpy as np
import numpy.typing as npt

from atb.domain.events import (
    CloseOnlyLatched,
    OrderFilled,
    OrderRejected,
    StopMoved,
    TierChanged,
)
from atb.domain.fills import Fill, Liquidity
from atb.domain.sides import OrderAction, PositionSide
from atb.results import BacktestResult

FloatArray = npt.NDArray[np.float64]

OPEN = "open"
"""`status` of the legs and the record of a position still open at the end of data."""
CLOSED = "closed"
"""`status` of the legs and records of closed trades."""


@attrs.frozen(slots=True, kw_only=True)
class LegRow:
    """One leg with the trade it belongs to: what a `trades.csv` row and a chart marker show.

    `exit_reason` is empty and `net_pnl` is marked to market for the open position.
    """

    trade_id: str
    status: str
    symbol: str
    side: PositionSide
    index: int
    fill: Fill
    exit_reason: str
    net_pnl: float


@attrs.frozen(slots=True, kw_only=True)
class MonthlyReturn:
    """The equity return of one calendar month (UTC)."""

    year: int
    month: int
    value: float

    @property
    def label(self) -> str:
        """`YYYY-MM`."""
        return f"{self.year:04d}-{self.month:02d}"


def leg_rows(result: BacktestResult) -> Iterator[LegRow]:
    """Every leg of every closed trade (trade order, then leg order), then the open position's."""
    for trade in result.trades:
        for index, fill in enumerate(trade.legs, start=1):
            yield LegRow(
                trade_id=trade.trade_id,
                status=CLOSED,
                symbol=trade.symbol,
                side=trade.side,
                index=index,
                fill=fill,
                exit_reason=trade.exit_reason,
                net_pnl=trade.pnl,
            )
    if result.open_position is not None:
        position = result.open_position.position
        for index, fill in enumerate(position.legs, start=1):
            yield LegRow(
                trade_id=position.position_id,
                status=OPEN,
                symbol=position.symbol,
                side=position.side,
                index=index,
                fill=fill,
                exit_reason="",
                net_pnl=result.open_position.net_pnl,
            )


def drawdown(equity: FloatArray, initial_balance: float) -> FloatArray:
    """Per-bar drawdown fraction from the running peak (the initial balance counts as a peak)."""
    values = np.asarray(equity, dtype=np.float64)
    if values.size == 0:
        return np.zeros(0, dtype=np.float64)
    peak = np.maximum.accumulate(np.maximum(values, initial_balance))
    with np.errstate(divide="ignore", invalid="ignore"):
        result: FloatArray = np.where(peak > 0, 1.0 - values / peak, 0.0)
    return result


def buy_and_hold_equity(close: FloatArray, initial_balance: float) -> FloatArray:
    """The initial balance held in the asset from the first close (no costs)."""
    values = np.asarray(close, dtype=np.float64)
    if values.size == 0:
        return np.zeros(0, dtype=np.float64)
    result: FloatArray = initial_balance * values / values[0]
    return result


def monthly_returns(result: BacktestResult) -> list[MonthlyReturn]:
    """The equity return of each UTC calendar month the run touches, in time order."""
    curve = result.equity
    times = np.asarray(curve.times_ns, dtype=np.int64)
    if times.size == 0:
        return []
    months = times.astype("datetime64[ns]").astype("datetime64[M]")
    # The last bar of each month: where the month changes, plus the final bar.
    last = np.flatnonzero(np.append(months[1:] != months[:-1], True))
    month_end_equity = np.asarray(curve.equity, dtype=np.float64)[last]
    previous = np.concatenate(([result.initial_balance], month_end_equity[:-1]))
    out: list[MonthlyReturn] = []
    for index, start, end in zip(
        last.tolist(), previous.tolist(), month_end_equity.tolist(), strict=True
    ):
        month_number = int(months[index].astype(np.int64))  # months since 1970-01
        value = end / start - 1.0 if start > 0 else float("nan")
        year, month = divmod(month_number, 12)
        out.append(MonthlyReturn(year=1970 + year, month=month + 1, value=value))
    return out


def exit_reason_counts(result: BacktestResult) -> dict[str, int]:
    """Closed trades by exit reason: most frequent first, ties by name (a stable order)."""
    counts = Counter(trade.exit_reason for trade in result.trades)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def tier_changes(result: BacktestResult) -> list[TierChanged]:
    """Dynamic-risk tier changes, in event order."""
    return [event for event in result.events if isinstance(event, TierChanged)]


def stop_moves(result: BacktestResult) -> list[StopMoved]:
    """Stop moves (breakeven and trailing), in event order."""
    return [event for event in result.events if isinstance(event, StopMoved)]


def close_only_latches(result: BacktestResult) -> list[CloseOnlyLatched]:
    """Max-drawdown breaches that latched close-only mode (at most one per run in practice)."""
    return [event for event in result.events if isinstance(event, CloseOnlyLatched)]


def count_by(values: Iterable[str]) -> dict[str, int]:
    """Occurrences of each string, keys sorted (a stable order for JSON)."""
    counts = Counter(values)
    return {key: counts[key] for key in sorted(counts)}


@attrs.frozen(slots=True, kw_only=True)
class RejectionCount:
    """Orders refused for one reason: how many, and the detail of the first one."""

    reason: str
    count: int
    example: str

    def describe(self) -> str:
        """`114 orders rejected: order below … (first: order value 0.0009 BTC below …)`."""
        noun = "order" if self.count == 1 else "orders"
        example = f" (first: {self.example})" if self.example else ""
        return f"{self.count:,d} {noun} rejected: {self.reason}{example}"


def rejection_counts(result: BacktestResult) -> list[RejectionCount]:
    """Rejected orders grouped by reason, most frequent first (ties in order of appearance)."""
    counts: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for event in result.events:
        if isinstance(event, OrderRejected):
            counts[event.reason] += 1
            examples.setdefault(event.reason, event.detail)
    return [
        RejectionCount(reason=reason, count=number, example=examples[reason])
        for reason, number in counts.most_common()
    ]


def clamped_fills(result: BacktestResult) -> int:
    """Taker fills whose slipped price the bar's range cut short (clamped to its low or high):
    the price moved less than `costs.slippage` × the reference price."""
    costs = result.config.get("costs")
    rate = costs.get("slippage") if isinstance(costs, dict) else None
    if not isinstance(rate, (int, float)) or rate <= 0:
        return 0
    count = 0
    for event in result.events:
        if not isinstance(event, OrderFilled) or event.fill.liquidity is not Liquidity.TAKER:
            continue
        fill = event.fill
        moved = fill.slippage / fill.quantity
        reference = fill.price + moved if fill.action is OrderAction.SELL else fill.price - moved
        # Tick rounding only ever adds to the move; less than the rate means the bar clamped it.
        if moved < rate * reference * (1.0 - 1e-9):
            count += 1
    return count
