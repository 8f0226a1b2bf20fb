"""`BacktestResult`: everything one backtest run produced, as plain typed values.

The engine fills it; `atb.reporting` turns it into the console summary, `result.json`,
`trades.csv`, `equity.csv` and `report.html`. The only field that differs between two runs of
the same inputs is `run.created_at` (the wall-clock time of the run itself).
"""

from __future__ import annotations

from datetime import datetime

import attrs
import numpy as np
import numpy.typing as npt

from atb.domain.events import KernelEvent, PositionClosed
from atb.domain.instruments import Instrument
from atb.domain.models import Trade
from atb.domain.policies import PositionPolicies
from atb.domain.protocols import Position
from atb.managers.performance_metrics import PerformanceMetrics


@attrs.frozen(slots=True, kw_only=True)
class RunInfo:
    """Identity of the run: wall-clock creation time (the one non-deterministic field) and the
    atb version. The inputs themselves are recorded in `data`, `strategy` and `config`."""

    created_at: datetime
    atb_version: str


@attrs.frozen(slots=True, kw_only=True)
class DataInfo:
    """The candles the run consumed: symbol, timeframe, the traded window (first and last bar
    open time), bar counts, warm-up bars loaded before the window, the sha256 fingerprint of
    the candles, where they came from, whether they are synthetic (DEMO), and the gaps found
    (start, end, missing bars)."""

    symbol: str
    timeframe: str
    start: datetime
    end: datetime
    bars: int
    warmup_bars: int
    fingerprint: str
    source: str
    synthetic: bool
    gaps: tuple[tuple[datetime, datetime, int], ...] = ()
    file: str | None = None
    """The candle file given with `--data` (absolute path), None for the cache or DEMO."""
    detail: DetailInfo | None = None
    """The finer candles levels were resolved on, when `fills.detail_timeframe` was set."""
    notes: tuple[str, ...] = ()
    """How the window was chosen when the user left it open (e.g. it ends at the last cached
    bar)."""
    suspicious: tuple[str, ...] = ()
    """Bars that look like bad prints, kept (one description each)."""
    dropped: tuple[str, ...] = ()
    """Bars removed as bad prints on request (`--drop-outliers`); each is now a gap."""
    drop_outliers: bool = False
    """Whether the run asked for bad prints to be removed (`--drop-outliers`)."""


@attrs.frozen(slots=True, kw_only=True)
class DetailInfo:
    """Lower-timeframe candles of a run: timeframe, fingerprint and file (None: the cache or
    DEMO)."""

    timeframe: str
    fingerprint: str
    file: str | None = None


@attrs.frozen(slots=True, kw_only=True)
class StrategyInfo:
    """The strategy: name, effective parameters, and the model artifact id when there is one
    (with whether a training-window overlap was explicitly allowed)."""

    name: str
    parameters: dict[str, object]
    model_id: str | None = None
    overlap_allowed: bool = False
    model_path: str | None = None
    """Where the model artifact was read from (for `--rerun`)."""


@attrs.frozen(slots=True, kw_only=True)
class InstrumentInfo:
    """The market's rules the run used (tick, lot step, minimums, assets) and where they came
    from (the exchange, the user, atb's built-in table, or inferred from the data)."""

    instrument: Instrument
    source: str
    warnings: tuple[str, ...] = ()
    """What resolving the rules warned about (e.g. a tick inferred from the data)."""


@attrs.frozen(slots=True, kw_only=True)
class PolicyUse:
    """One distinct set of position policies the run used (the configuration's, or a strategy
    bundle merged onto it) and how many times it was attached to a position (entries and
    swaps)."""

    policies: PositionPolicies
    attached: int


@attrs.frozen(slots=True, kw_only=True)
class OpenPosition:
    """A position still open at the end of data, marked to market at the last close."""

    position: Position
    mark_price: float
    mark_time: datetime
    unrealized_pnl: float
    """Gross PnL of the open quantity at `mark_price`: side.sign × (mark − entry) × quantity
    (no fees, no exit slippage)."""

    @property
    def net_pnl(self) -> float:
        """Mark-to-market net PnL of the whole position so far: PnL realized by partial exits
        plus the unrealized PnL, minus every fee paid (exit fees not yet paid are not counted)."""
        return self.position.realized_pnl + self.unrealized_pnl - self.position.fees_paid


@attrs.frozen(slots=True, kw_only=True)
class AmbiguityInfo:
    """Bars whose outcome depends on the intrabar policy, and the range of PnL those bars span:
    the sum over ambiguous bars of each bar's PnL (quote) under the worse (`pessimistic_pnl`)
    and the better (`optimistic_pnl`) of the two orders in which the extremes can be visited,
    from the same state before the bar. NaN when unknown: a live session's store keeps the
    count, not the other order's outcome."""

    bars: int
    pessimistic_pnl: float
    optimistic_pnl: float


@attrs.frozen(slots=True, kw_only=True)
class EquityCurve:
    """Per-bar arrays over the traded window: bar open times (int64 ns, UTC), equity at the
    close (quote), close price, and exposure (|notional| / equity)."""

    times_ns: npt.NDArray[np.int64]
    equity: npt.NDArray[np.float64]
    close: npt.NDArray[np.float64]
    exposure: npt.NDArray[np.float64]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EquityCurve):
            return NotImplemented
        return all(
            np.array_equal(getattr(self, name), getattr(other, name))
            for name in ("times_ns", "equity", "close", "exposure")
        )

    __hash__ = None  # type: ignore[assignment]


@attrs.frozen(slots=True, kw_only=True)
class BacktestResult:
    """One backtest: inputs, every trade with its legs, the equity curve, metrics and events."""

    run: RunInfo
    data: DataInfo
    strategy: StrategyInfo
    config: dict[str, object]
    instrument: InstrumentInfo
    initial_balance: float
    trades: tuple[Trade, ...]
    open_position: OpenPosition | None
    equity: EquityCurve
    metrics: PerformanceMetrics
    ambiguity: AmbiguityInfo
    events: tuple[KernelEvent, ...]
    closed_at_end: bool = False
    warnings: tuple[str, ...] = ()
    policies: tuple[PolicyUse, ...] = ()
    """The position policies that acted, in the order they were first used."""
    zero_volume_fills: int = 0
    """Fills on bars that traded nothing (volume 0): prices there may never have been
    available."""


@attrs.frozen(slots=True, kw_only=True)
class SymbolPart:
    """One symbol of a portfolio run: its candles, rules, trades, open position, how much it
    added to the account (`contribution`: net PnL of its closed trades plus its open position's
    mark-to-market net PnL, quote), its exposure at each close of the portfolio's curve, its
    ambiguous bars and the axis times it had no bar."""

    data: DataInfo
    instrument: InstrumentInfo
    trades: tuple[Trade, ...]
    open_position: OpenPosition | None
    contribution: float
    fees: float
    exposure: npt.NDArray[np.float64]
    ambiguous_bars: int
    missing: tuple[datetime, ...] = ()
    model_id: str | None = None
    """The model artifact this symbol's strategy decided with (a model-backed strategy keeps a
    model per symbol), or None."""

    @property
    def symbol(self) -> str:
        """The symbol."""
        return self.data.symbol


@attrs.frozen(slots=True, kw_only=True)
class PortfolioResult:
    """One portfolio backtest: one account trading `symbols` (in symbol order).

    `equity.close` is the equal-weight basket of the symbols (each close over its first close
    in the window, averaged: buy-and-hold of the basket, 1.0 at the start; with one symbol, the
    symbol's own close ratio), `equity.exposure` the total exposure. `events` are every event
    in the order it happened, with its symbol (None for the account's own: tier, latch).
    `correlation` is the matrix of the symbols' bar-return correlations over the window (None
    where two symbols share fewer than three returns).
    """

    run: RunInfo
    strategy: StrategyInfo
    config: dict[str, object]
    initial_balance: float
    quote_asset: str
    timeframe: str
    symbols: tuple[SymbolPart, ...]
    equity: EquityCurve
    metrics: PerformanceMetrics
    ambiguity: AmbiguityInfo
    events: tuple[tuple[str | None, KernelEvent], ...]
    correlation: tuple[tuple[float | None, ...], ...]
    closed_at_end: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def trades(self) -> tuple[Trade, ...]:
        """Every closed trade of every symbol, in the order they closed."""
        return tuple(
            event.trade for _symbol, event in self.events if isinstance(event, PositionClosed)
        )

    def part(self, symbol: str) -> SymbolPart:
        """One symbol's part (`KeyError` naming it when the run did not trade it)."""
        for part in self.symbols:
            if part.symbol == symbol:
                return part
        raise KeyError(symbol)
