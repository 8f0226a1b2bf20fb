"""Figures derived from a `PortfolioResult`, shared by its `result.json`, CSV files, console
summary and HTML report, so all four show the same numbers.

The definitions are the single-symbol ones (`atb.reporting.derived`), applied to the account:
drawdown from the running peak of the portfolio's equity (the initial balance counts as a
peak), the basket's buy-and-hold equity = initial balance × basket ratio (`equity.close` is the
equal-weight basket of the symbols' close ratios, 1.0 at the start). Per symbol: its closed
trades, wins (net PnL > 0, as `PerformanceMetrics` counts them), contribution, fees and
exposure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime

import attrs
import numpy as np

from atb.domain.events import OrderRejected
from atb.reporting.derived import (
    CLOSED,
    OPEN,
    FloatArray,
    LegRow,
    RejectionCount,
    buy_and_hold_equity,
    count_by,
    drawdown,
)
from atb.results import PortfolioResult, SymbolPart

__all__ = [
    "SymbolStats",
    "basket_equity",
    "event_counts",
    "exit_reason_counts",
    "portfolio_drawdown",
    "portfolio_leg_rows",
    "rejection_counts",
    "rejections_by_symbol",
    "symbol_stats",
    "window",
]


@attrs.frozen(slots=True, kw_only=True)
class SymbolStats:
    """One symbol's figures in the portfolio: closed trades, wins and win rate (None without a
    closed trade), net PnL of its closed trades, contribution (that plus its open position's
    marked net PnL), fees, ambiguous bars, axis times without a bar, and its largest and mean
    exposure (|notional| / portfolio equity) over the curve (None for an empty curve)."""

    symbol: str
    trades: int
    wins: int
    win_rate: float | None
    net_pnl: float
    contribution: float
    fees: float
    ambiguous_bars: int
    missing_bars: int
    max_exposure: float | None
    mean_exposure: float | None
    open_side: str | None
    """`long` / `short` for a position still open at the end, else None."""


def symbol_stats(part: SymbolPart) -> SymbolStats:
    """The figures of one symbol's part."""
    wins = sum(1 for trade in part.trades if trade.pnl > 0)
    net = 0.0
    for trade in part.trades:
        net += trade.pnl
    exposure = np.asarray(part.exposure, dtype=np.float64)
    has_curve = exposure.size > 0
    return SymbolStats(
        symbol=part.symbol,
        trades=len(part.trades),
        wins=wins,
        win_rate=wins / len(part.trades) if part.trades else None,
        net_pnl=net,
        contribution=part.contribution,
        fees=part.fees,
        ambiguous_bars=part.ambiguous_bars,
        missing_bars=len(part.missing),
        max_exposure=float(exposure.max()) if has_curve else None,
        mean_exposure=float(exposure.mean()) if has_curve else None,
        open_side=None if part.open_position is None else part.open_position.position.side.value,
    )


def window(result: PortfolioResult) -> tuple[datetime, datetime]:
    """The traded window: the earliest first bar and the latest last bar of any symbol."""
    return (
        min(part.data.start for part in result.symbols),
        max(part.data.end for part in result.symbols),
    )


def portfolio_leg_rows(result: PortfolioResult) -> Iterator[LegRow]:
    """Every leg of every closed trade (in the order the trades closed, then leg order), then
    the legs of each symbol's open position (symbol order)."""
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
    for part in result.symbols:
        if part.open_position is None:
            continue
        position = part.open_position.position
        for index, fill in enumerate(position.legs, start=1):
            yield LegRow(
                trade_id=position.position_id,
                status=OPEN,
                symbol=position.symbol,
                side=position.side,
                index=index,
                fill=fill,
                exit_reason="",
                net_pnl=part.open_position.net_pnl,
            )


def portfolio_drawdown(result: PortfolioResult) -> FloatArray:
    """Per-bar drawdown fraction of the account's equity from its running peak."""
    return drawdown(np.asarray(result.equity.equity, dtype=np.float64), result.initial_balance)


def basket_equity(result: PortfolioResult) -> FloatArray:
    """The initial balance held in the equal-weight basket from the first bar (no costs)."""
    return buy_and_hold_equity(
        np.asarray(result.equity.close, dtype=np.float64), result.initial_balance
    )


def exit_reason_counts(result: PortfolioResult) -> dict[str, int]:
    """Closed trades of every symbol by exit reason: most frequent first, ties by name."""
    counts = Counter(trade.exit_reason for trade in result.trades)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def event_counts(result: PortfolioResult) -> dict[str, int]:
    """Every event of the run by kind, keys sorted."""
    return count_by(event.kind for _symbol, event in result.events)


def rejection_counts(result: PortfolioResult) -> list[RejectionCount]:
    """Rejected orders of every symbol grouped by reason, most frequent first (ties in order of
    appearance), each with the detail of the first one."""
    counts: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for _symbol, event in result.events:
        if isinstance(event, OrderRejected):
            counts[event.reason] += 1
            examples.setdefault(event.reason, event.detail)
    return [
        RejectionCount(reason=reason, count=number, example=examples[reason])
        for reason, number in counts.most_common()
    ]


def rejections_by_symbol(result: PortfolioResult, reason: str) -> dict[str, int]:
    """How many orders of each symbol `reason` refused (symbols with none left out), in
    symbol order."""
    counts = Counter(
        symbol
        for symbol, event in result.events
        if isinstance(event, OrderRejected) and event.reason == reason and symbol is not None
    )
    return {part.symbol: counts[part.symbol] for part in result.symbols if counts[part.symbol]}
