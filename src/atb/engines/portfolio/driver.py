"""`PortfolioDriver`: the per-bar step of one account trading many symbols (ADR 0017).

At each bar time of the portfolio's axis, for the symbols that have a bar at that time (the
*present* ones), in symbol order:

1. **Fills** (DESIGN §3 steps 1–2), symbol by symbol: the pending market orders at the open,
   then the resting levels along the path, each symbol's fills folded into the shared cash. A
   venue sizing an entry sees the other symbols' positions marked at their opens of this time
   (their last close when absent).
2. **Review** (step 3) of every present symbol: excursions, trailing stops, time exits.
3. **Risk** (step 4) once, on the portfolio's equity at this time's closes: the equity peak, the
   drawdown tier and the close-only latch are the portfolio's.
4. **Decisions** (step 5) of every present symbol's strategy, all collected first; then, in
   symbol order, their orders — new positions admitted and sized by the `PortfolioGate`
   (max open positions, correlation control, total exposure) knowing every decision.
5. **Equity** (step 6) of the portfolio at the closes; exposure per symbol.

An absent symbol is not stepped: its resting orders are not walked, its pending orders wait for
its next bar, its strategy does not decide, its position is marked at its last close. Each
symbol keeps its own `BarDriver` (its instrument, its strategy, its venue), so every number
comes from the same kernel as a single-symbol run; with one symbol the step is that run's,
operation for operation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Generic, TypeVar

import attrs

from atb.domain.bars import Bar
from atb.domain.events import KernelEvent
from atb.domain.pnl import unrealized_pnl
from atb.domain.protocols import Position
from atb.engines.driver import BarDriver, BarFills
from atb.managers.book import Book
from atb.managers.correlation import ReturnsWindow
from atb.managers.dynamic_risk import NO_TIER, RiskTier
from atb.managers.execution import OtherHoldings
from atb.managers.kernel_state import KernelState, StepResult
from atb.managers.orders import MarketOrder, OrderIntent
from atb.managers.plan import assess_risk, plan_orders
from atb.managers.portfolio_risk import PortfolioGate
from atb.managers.volatility import PriceHistory

P = TypeVar("P", bound=Position)

__all__ = ["PortfolioDriver", "PortfolioState", "PortfolioStep", "SymbolBar"]


@attrs.frozen(slots=True, kw_only=True)
class PortfolioState(Generic[P]):
    """The portfolio between two bar times: the shared account (cash, equity at the last
    close, its peak, drawdown tier, close-only latch), each symbol's own kernel state (its
    position, pending orders, id counters) and each symbol's last close (its mark while
    absent; missing before its first bar)."""

    cash: float
    equity: float
    peak_equity: float
    tier: RiskTier
    close_only: bool
    symbols: Mapping[str, KernelState[P]]
    marks: Mapping[str, float]


@attrs.frozen(slots=True)
class SymbolBar:
    """One present symbol's input at a bar time: its bar, its row in its strategy's frame, the
    price history for ATR questions and its finer candles (or None)."""

    bar: Bar
    row: int
    history: PriceHistory | None = None
    detail: Sequence[Bar] | None = None


@attrs.frozen(slots=True, kw_only=True)
class PortfolioStep(Generic[P]):
    """What one bar time produced: the next state, each present symbol's step, every event in
    the order it happened (with its symbol; None for the account's own events: tier and
    latch), the portfolio's equity at the closes and each symbol's exposure there."""

    state: PortfolioState[P]
    results: Mapping[str, StepResult[P]]
    events: tuple[tuple[str | None, KernelEvent], ...]
    equity: float
    exposures: Mapping[str, float]
    ambiguity: Mapping[str, float] = attrs.field(factory=dict)
    """For each symbol whose bar was ambiguous: its fills' equity had the other extreme come
    first, minus the chosen reading's (both at its close, same account before its bar)."""

    @property
    def exposure(self) -> float:
        """The total exposure (sum over symbols, in symbol order)."""
        total = 0.0
        for value in self.exposures.values():
            total += value
        return total


class PortfolioDriver(Generic[P]):
    """Steps a portfolio: one `BarDriver` per symbol, one account, one set of caps."""

    def __init__(self, drivers: Mapping[str, BarDriver[P]], lookback: int | None = None) -> None:
        if not drivers:
            raise ValueError("a portfolio needs at least one symbol")
        self.symbols = tuple(sorted(drivers))
        self.drivers = {symbol: drivers[symbol] for symbol in self.symbols}
        first = self.drivers[self.symbols[0]]
        self.context = first.context
        self.config = first.config
        correlation = self.config.risk.correlation
        self.returns: ReturnsWindow | None = None
        if correlation is not None:
            self.returns = ReturnsWindow(self.symbols, correlation.lookback)
        # Each symbol's run-lived book (ADR 0022), valid while the state stepped from is the one
        # the last step returned (anything else — a restart, a flatten — starts them afresh).
        self._books: dict[str, Book[P]] = {}
        self._stepped: PortfolioState[P] | None = None

    def initial_state(self, cash: float) -> PortfolioState[P]:
        """A flat account holding `cash` (quote currency), no symbol seen yet."""
        states = {symbol: self.drivers[symbol].initial_state(cash) for symbol in self.symbols}
        return PortfolioState(
            cash=cash,
            equity=cash,
            peak_equity=cash,
            tier=NO_TIER,
            close_only=False,
            symbols=states,
            marks={},
        )

    def step(
        self, state: PortfolioState[P], time: datetime, present: Mapping[str, SymbolBar]
    ) -> PortfolioStep[P]:
        """Process the bar time `time` for the symbols in `present` (see the module docstring)."""
        if state is not self._stepped:
            self._books.clear()
        positions: dict[str, Position | None] = {
            symbol: state.symbols[symbol].position for symbol in self.symbols
        }
        stream: list[tuple[str | None, KernelEvent]] = []
        fills: dict[str, BarFills[P]] = {}
        seen: dict[str, int] = {}
        ambiguity: dict[str, float] = {}
        cash = state.cash
        opens = {symbol: present[symbol].bar.open for symbol in present}
        # 1. fills, symbol by symbol, into the shared cash
        for symbol in self.symbols:
            if symbol not in present:
                continue
            given = present[symbol]
            others = self._others(symbol, positions, opens, state.marks)
            book = self._book(state, symbol, cash)
            book.begin(given.bar, others)
            filled = self.drivers[symbol].fill_book(book, given.detail)
            book = filled[0]
            if filled[2] is not None:
                # This symbol's part of the bar had the other extreme come first.
                ambiguity[symbol] = filled[2] - book.equity(given.bar.close)
            cash = book.cash
            positions[symbol] = book.position
            fills[symbol] = filled
            seen[symbol] = _take(stream, symbol, book.events, 0)
        # 2. review every present position at its close
        time_exits: dict[str, MarketOrder | None] = {}
        for symbol, filled in fills.items():
            book = filled[0]
            time_exits[symbol] = self.drivers[symbol].review(
                filled, present[symbol].row, present[symbol].history
            )
            positions[symbol] = book.position
            seen[symbol] = _take(stream, symbol, book.events, seen[symbol])
        marks = dict(state.marks)
        for symbol in present:
            marks[symbol] = present[symbol].bar.close
        if self.returns is not None:
            for symbol in self.symbols:
                if symbol in present:
                    self.returns.push(symbol, time, marks[symbol])
        # 3. the account's risk, once, on the portfolio's equity at the closes
        equity = _equity(cash, positions, marks, self.symbols)
        risk = assess_risk(
            self.context,
            time,
            equity=equity,
            peak_equity=state.peak_equity,
            tier=state.tier,
            close_only=state.close_only,
        )
        stream.extend((None, event) for event in risk.events)
        # 4. every decision first, then the orders in symbol order through the gate
        decisions = {
            symbol: self.drivers[symbol].decide(fills[symbol], present[symbol].row)
            for symbol in fills
        }
        held = _holdings(
            self.symbols,
            positions=positions,
            marks=marks,
            equity=equity,
            states=state.symbols,
            present=present,
        )
        gate = PortfolioGate(
            self.config.risk.limits, self.config.risk.correlation, held, self.returns
        )
        results: dict[str, StepResult[P]] = {}
        for symbol in self.symbols:
            if symbol not in fills:
                continue
            book = fills[symbol][0]
            book.cash = cash
            book.peak_equity = risk.peak_equity
            book.tier = risk.tier
            book.close_only = risk.close_only
            book.others = self._others(symbol, positions, marks, marks)
            orders = plan_orders(book, decisions[symbol], time_exits[symbol], gate)
            results[symbol] = self.drivers[symbol].finish_bar(fills[symbol], orders)
            cash = book.cash
            positions[symbol] = book.position
            seen[symbol] = _take(stream, symbol, book.events, seen[symbol])
        # 5. the portfolio's equity at the closes
        equity = _equity(cash, positions, marks, self.symbols)
        exposures: dict[str, float] = {}
        for symbol in self.symbols:
            position = positions[symbol]
            exposure = 0.0
            if position is not None and equity > 0:
                exposure = position.quantity * marks[symbol] / equity
            exposures[symbol] = exposure
        peak = max(risk.peak_equity, equity)
        symbols = dict(state.symbols)
        for symbol, result in results.items():
            symbols[symbol] = result.state
        next_state = PortfolioState(
            cash=cash,
            equity=equity,
            peak_equity=peak,
            tier=risk.tier,
            close_only=risk.close_only,
            symbols=symbols,
            marks=marks,
        )
        self._stepped = next_state
        return PortfolioStep(
            state=next_state,
            results=results,
            events=tuple(stream),
            equity=equity,
            exposures=exposures,
            ambiguity=ambiguity,
        )

    def close_all(
        self, step: PortfolioStep[P], last_bars: Mapping[str, Bar], reason: str
    ) -> PortfolioStep[P]:
        """Close every open position at its symbol's last close, after the step (the end of a
        run, when asked); orders still pending for a bar that will never come are dropped."""
        state = step.state
        cash = state.cash
        symbols = dict(state.symbols)
        results = dict(step.results)
        stream = list(step.events)
        positions: dict[str, Position | None] = {
            symbol: symbols[symbol].position for symbol in self.symbols
        }
        for symbol in self.symbols:
            symbol_state = symbols[symbol]
            if symbol_state.position is None:
                continue
            bar = last_bars[symbol]
            own = attrs.evolve(symbol_state, cash=cash)
            before = results.get(symbol)
            base = StepResult(
                state=own,
                events=(),
                equity=state.equity,
                exposure=0.0,
                ambiguous=False if before is None else before.ambiguous,
            )
            closed = self.drivers[symbol].close_at(base, bar, reason)
            cash = closed.state.cash
            symbols[symbol] = closed.state
            positions[symbol] = None
            stream.extend((symbol, event) for event in closed.events)
            if before is not None:
                results[symbol] = attrs.evolve(
                    before, state=closed.state, events=(*before.events, *closed.events)
                )
        equity = _equity(cash, positions, state.marks, self.symbols)
        next_state = attrs.evolve(
            state,
            cash=cash,
            equity=equity,
            peak_equity=max(state.peak_equity, equity),
            symbols=symbols,
        )
        return PortfolioStep(
            state=next_state,
            results=results,
            events=tuple(stream),
            equity=equity,
            exposures=dict.fromkeys(self.symbols, 0.0),
        )

    def _book(self, state: PortfolioState[P], symbol: str, cash: float) -> Book[P]:
        """The symbol's book with the account's `cash`, equity, peak, tier and latch."""
        book = self._books.get(symbol)
        if book is None:
            context = self.drivers[symbol].context  # the symbol's own instrument and ids
            book = self._books[symbol] = Book(context, state.symbols[symbol])
        book.cash = cash
        book.close_equity = state.equity
        book.peak_equity = state.peak_equity
        book.tier = state.tier
        book.close_only = state.close_only
        return book

    def _others(
        self,
        symbol: str,
        positions: Mapping[str, Position | None],
        prices: Mapping[str, float],
        marks: Mapping[str, float],
    ) -> OtherHoldings:
        """The other symbols' positions at `prices` (else their last close), summed in symbol
        order."""
        pnl = 0.0
        notional = 0.0
        for other in self.symbols:
            position = positions[other]
            if other == symbol or position is None:
                continue
            price = prices.get(other, marks.get(other, position.entry_price))
            pnl += unrealized_pnl(position.side, position.entry_price, position.quantity, price)
            notional += position.quantity * price
        return OtherHoldings(pnl, notional, self.config.risk.limits.exposure_cap)


def _holdings(
    symbols: Sequence[str],
    *,
    positions: Mapping[str, Position | None],
    marks: Mapping[str, float],
    equity: float,
    states: Mapping[str, KernelState[P]],
    present: Mapping[str, SymbolBar],
) -> dict[str, float]:
    """Each symbol's holding at this close, in symbol order: its position's exposure, or the
    fraction of the entry still waiting for its bar (a symbol absent at this time)."""
    held: dict[str, float] = {}
    for symbol in symbols:
        position = positions[symbol]
        if position is not None:
            held[symbol] = position.quantity * marks[symbol] / equity if equity > 0 else 0.0
        elif symbol not in present:
            waiting = [
                order.fraction or 0.0
                for order in states[symbol].pending
                if order.intent in (OrderIntent.OPEN_LONG, OrderIntent.OPEN_SHORT)
            ]
            if waiting:
                held[symbol] = waiting[-1]
    return held


def _take(
    stream: list[tuple[str | None, KernelEvent]],
    symbol: str,
    events: Sequence[KernelEvent],
    start: int,
) -> int:
    """Append `symbol`'s events from `start` on to the stream; the new count."""
    stream.extend((symbol, event) for event in events[start:])
    return len(events)


def _equity(
    cash: float,
    positions: Mapping[str, Position | None],
    marks: Mapping[str, float],
    symbols: Sequence[str],
) -> float:
    """Cash plus every open position's unrealized PnL at its mark, in symbol order."""
    equity = cash
    for symbol in symbols:
        position = positions[symbol]
        if position is not None:
            equity += unrealized_pnl(
                position.side, position.entry_price, position.quantity, marks[symbol]
            )
    return equity
