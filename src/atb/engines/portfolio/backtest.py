"""`run_portfolio_backtest`: one account trading many symbols over their history.

Each symbol gets its own strategy instance (prepared on its own candles), its own rules and its
own venue; the `PortfolioDriver` steps every bar time of the portfolio's axis (ADR 0017). A
symbol steps from the first bar of the requested window on (its warm-up rows before that are
only its strategy's history). Every bar is stepped — the single-symbol quiet-bar fast path is
not used here, and it gives the same numbers by construction (ADR 0007).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import attrs
import numpy as np
import numpy.typing as npt
import pandas as pd

from atb import __version__
from atb.config import config_to_dict
from atb.data.portfolio import PortfolioCandles
from atb.domain.bars import Bar
from atb.domain.errors import ConfigError, DataError
from atb.domain.events import KernelEvent, OrderFilled, PositionClosed
from atb.domain.models import ActiveTrade
from atb.domain.pnl import unrealized_pnl
from atb.engines.backtest.arrays import bar_arrays
from atb.engines.backtest.engine import END_OF_DATA, describe_data, price_range
from atb.engines.backtest.quiet_span import BarArrays
from atb.engines.collection_pacing import Pacing, paced_collections
from atb.engines.driver import BarDriver
from atb.engines.portfolio.driver import PortfolioDriver, PortfolioStep, SymbolBar
from atb.managers.book import symbol_id_prefix
from atb.managers.correlation import pearson
from atb.managers.lookback import history_bars
from atb.managers.performance import PerformanceTracker
from atb.managers.positions import ActiveTradeAdapter
from atb.managers.run_config import RunConfiguration
from atb.managers.volatility import ArrayHistory
from atb.ports import ExecutionVenue
from atb.results import (
    AmbiguityInfo,
    EquityCurve,
    InstrumentInfo,
    OpenPosition,
    PortfolioResult,
    RunInfo,
    StrategyInfo,
    SymbolPart,
)
from atb.strategies.protocol import ModelBacked, Strategy
from atb.strategies.training_overlap import refuse_training_overlap

__all__ = ["PortfolioRequest", "run_portfolio_backtest", "symbol_id_prefix"]

Progress = Callable[[int, int], None]
"""Called with (bar times done, bar times total) as the run advances."""

VenueFactory = Callable[[str, BarDriver[ActiveTrade]], ExecutionVenue]
"""Builds the venue one symbol trades on, from its driver (default: the driver's simulated
venue); tests pass a recording venue that implements the port."""

_PROGRESS_EVERY = 512
_SETTLE_EVERY = 512
"""Bar times between two settlings of what the run keeps (`collection_pacing`)."""


@attrs.frozen(slots=True, kw_only=True)
class PortfolioRequest:
    """What to run: one strategy instance per symbol, the portfolio's candles (warm-up rows
    first), the config and the account."""

    strategies: Mapping[str, Strategy]
    candles: PortfolioCandles
    config: RunConfiguration
    initial_balance: float = 10_000.0
    close_at_end: bool = False
    overlap_allowed: bool = False
    id_prefix: str = "bt"
    drop_outliers: bool = False
    venues: VenueFactory | None = None


@attrs.define
class _Symbol:
    """One symbol's inputs while the run walks the axis."""

    name: str
    bars: BarArrays
    warmup: int
    present: npt.NDArray[np.bool_]
    history: ArrayHistory
    row: int = 0
    first_close: float | None = None
    ratio: float = 1.0
    last_bar: Bar | None = None
    ambiguous: int = 0


def run_portfolio_backtest(
    request: PortfolioRequest,
    *,
    progress: Progress | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> PortfolioResult:
    """Run one portfolio backtest and return everything it produced."""
    portfolio = request.candles
    config = request.config
    if not request.initial_balance > 0:
        raise DataError(f"--initial-balance must be > 0, got {request.initial_balance}")
    if config.fills.detail_timeframe is not None:
        raise ConfigError(
            "fills.detail_timeframe: finer candles are not supported for a portfolio yet"
        )
    missing = [symbol for symbol in portfolio.symbols if symbol not in request.strategies]
    if missing:
        raise ConfigError(f"no strategy for {missing[0]}")
    first = portfolio.candles[portfolio.symbols[0]]
    timeframe = first.timeframe
    if timeframe is None:
        raise DataError(f"{first.source}: the candles' timeframe is unknown")
    interval = timeframe.timedelta
    symbols: dict[str, _Symbol] = {}
    drivers: dict[str, BarDriver[ActiveTrade]] = {}
    for symbol in portfolio.symbols:
        candles = portfolio.candles[symbol]
        if len(candles) - candles.warmup_bars <= 0:
            raise DataError(f"{symbol}: no bars in the requested window ({candles.describe()})")
        strategy = request.strategies[symbol]
        refuse_training_overlap(
            strategy,
            candles.index[candles.warmup_bars].to_pydatetime(),
            candles.index[-1].to_pydatetime(),
            allowed=request.overlap_allowed,
        )
        strategy.prepare(candles.frame)
        bars = bar_arrays(candles.frame)
        instrument = portfolio.instruments[symbol].instrument
        lowest, highest, typical = price_range(candles)
        instrument.check_prices(lowest, highest)
        instrument.check_account(request.initial_balance, config.risk.limits.position_cap, typical)
        driver = BarDriver(
            config=config,
            instrument=instrument,
            positions=ActiveTradeAdapter(),
            decider=strategy,
            bar_interval=interval,
            id_prefix=symbol_id_prefix(request.id_prefix, symbol, len(portfolio.symbols)),
            history_bars=history_bars(strategy.warmup, config),
        )
        if request.venues is not None:
            driver.venue = request.venues(symbol, driver)
        drivers[symbol] = driver
        symbols[symbol] = _Symbol(
            name=symbol,
            bars=bars,
            warmup=candles.warmup_bars,
            present=portfolio.present[symbol],
            history=ArrayHistory(bars.high, bars.low, bars.close),
        )
    walk = _Walk(PortfolioDriver(drivers), symbols, request)
    with paced_collections() as pacing:
        walk.run(portfolio.times, progress, pacing)
    return walk.result(clock)


class _Walk:
    """The run's loop over the axis and what it records."""

    def __init__(
        self,
        driver: PortfolioDriver[ActiveTrade],
        symbols: dict[str, _Symbol],
        request: PortfolioRequest,
    ) -> None:
        self.driver = driver
        self.symbols = symbols
        self.request = request
        self.state = driver.initial_state(request.initial_balance)
        first = request.candles.candles[request.candles.symbols[0]]
        assert first.timeframe is not None
        self.tracker = PerformanceTracker(request.initial_balance, first.timeframe.timedelta)
        self.times: list[int] = []
        self.equity: list[float] = []
        self.basket: list[float] = []
        self.exposure: list[float] = []
        self.by_symbol: dict[str, list[float]] = {symbol: [] for symbol in symbols}
        self.band_low = 0.0
        self.band_high = 0.0
        self.all_events: list[tuple[str | None, KernelEvent]] = []

    def run(self, times: tuple[datetime, ...], progress: Progress | None, pacing: Pacing) -> None:
        """Step every bar time at which at least one symbol is inside its window (settling
        what the run keeps every few hundred bar times: `collection_pacing`)."""
        total = len(times)
        reported = 0
        for index, time in enumerate(times):
            present: dict[str, SymbolBar] = {}
            for symbol in self.driver.symbols:
                item = self.symbols[symbol]
                if not item.present[index]:
                    continue
                row = item.row
                item.row += 1
                if row < item.warmup:
                    continue
                bar = item.bars.bar(row)
                item.last_bar = bar
                present[symbol] = SymbolBar(bar, row, item.history)
            if not present:
                continue
            step = self.driver.step(self.state, time, present)
            if self.request.close_at_end and index == total - 1:
                last_bars = {
                    symbol: item.last_bar
                    for symbol, item in self.symbols.items()
                    if item.last_bar is not None
                }
                step = self.driver.close_all(step, last_bars, END_OF_DATA)
            self._record(time, present, step)
            if (index + 1) % _SETTLE_EVERY == 0:
                pacing.settle()
            if progress is not None and index - reported >= _PROGRESS_EVERY:
                progress(index, total)
                reported = index
        if progress is not None:
            progress(total, total)

    def _record(
        self, time: datetime, present: Mapping[str, SymbolBar], step: PortfolioStep[ActiveTrade]
    ) -> None:
        for _symbol, event in step.events:
            if isinstance(event, OrderFilled):
                self.tracker.record_fill(event.fill)
            elif isinstance(event, PositionClosed):
                self.tracker.record_trade(event.trade)
        self.all_events.extend(step.events)
        for symbol, result in step.results.items():
            if result.ambiguous:
                self.symbols[symbol].ambiguous += 1
        if step.ambiguity:
            pnl = step.equity - self.state.equity
            low = high = pnl
            for delta in step.ambiguity.values():
                low += min(0.0, delta)
                high += max(0.0, delta)
            self.band_low += low
            self.band_high += high
        self.state = step.state
        self.times.append(int(pd.Timestamp(time).value))
        self.equity.append(step.equity)
        self.exposure.append(step.exposure)
        basket = 0.0
        for symbol in self.driver.symbols:
            item = self.symbols[symbol]
            given = present.get(symbol)
            if given is not None:
                if item.first_close is None:
                    item.first_close = given.bar.close
                item.ratio = given.bar.close / item.first_close
            basket += item.ratio
            self.by_symbol[symbol].append(step.exposures[symbol])
        self.basket.append(basket / len(self.driver.symbols))

    def result(self, clock: Callable[[], datetime]) -> PortfolioResult:
        """The run's result."""
        request = self.request
        portfolio = request.candles
        times = np.array(self.times, dtype=np.int64)
        equity = np.array(self.equity, dtype=np.float64)
        basket = np.array(self.basket, dtype=np.float64)
        exposure = np.array(self.exposure, dtype=np.float64)
        self.tracker.record_bars(times, equity, basket, exposure)
        metrics = self.tracker.metrics()
        parts = tuple(self._part(symbol) for symbol in self.driver.symbols)
        strategy = request.strategies[portfolio.symbols[0]]
        model_id = _model_id(strategy)
        model_path = None
        if isinstance(strategy, ModelBacked):
            model_path = str(strategy.model_artifact.path)
        warnings = list(portfolio.warnings)
        for part in parts:
            if part.missing:
                warnings.append(
                    f"{part.symbol}: {len(part.missing)} bar time(s) without a bar in the "
                    "window (not stepped there; marked at its last close)"
                )
        synthetic = [symbol for symbol in portfolio.symbols if portfolio.candles[symbol].synthetic]
        if synthetic:
            warnings.append("synthetic data: the DEMO market is generated, not real prices")
        first = portfolio.candles[portfolio.symbols[0]]
        return PortfolioResult(
            run=RunInfo(created_at=clock(), atb_version=__version__),
            strategy=StrategyInfo(
                name=strategy.name,
                parameters=dict(strategy.parameters),
                model_id=model_id,
                overlap_allowed=request.overlap_allowed,
                model_path=model_path,
            ),
            config=config_to_dict(request.config),
            initial_balance=request.initial_balance,
            quote_asset=portfolio.quote_asset,
            timeframe=str(first.timeframe),
            symbols=parts,
            equity=EquityCurve(times_ns=times, equity=equity, close=basket, exposure=exposure),
            metrics=metrics,
            ambiguity=AmbiguityInfo(
                bars=sum(part.ambiguous_bars for part in parts),
                pessimistic_pnl=self.band_low,
                optimistic_pnl=self.band_high,
            ),
            events=tuple(self.all_events),
            correlation=_correlation(portfolio, self.symbols),
            closed_at_end=request.close_at_end,
            warnings=tuple(warnings),
        )

    def _part(self, symbol: str) -> SymbolPart:
        request = self.request
        portfolio = request.candles
        item = self.symbols[symbol]
        candles = portfolio.candles[symbol]
        resolved = portfolio.instruments[symbol]
        trades = tuple(
            event.trade
            for owner, event in self.all_events
            if owner == symbol and isinstance(event, PositionClosed)
        )
        open_position = None
        position = self.state.symbols[symbol].position
        contribution = 0.0
        for trade in trades:
            contribution += trade.pnl
        fees = 0.0
        for trade in trades:
            fees += trade.fees
        if position is not None and item.last_bar is not None:
            mark = item.last_bar.close
            open_position = OpenPosition(
                position=position,
                mark_price=mark,
                mark_time=item.last_bar.time,
                unrealized_pnl=unrealized_pnl(
                    position.side, position.entry_price, position.quantity, mark
                ),
            )
            contribution += open_position.net_pnl
            fees += position.fees_paid
        window_start = candles.index[candles.warmup_bars].to_pydatetime()
        missing = tuple(time for time in portfolio.missing(symbol) if time >= window_start)
        return SymbolPart(
            data=describe_data(
                symbol,
                candles,
                item.bars,
                data_file=portfolio.files.get(symbol),
                drop_outliers=request.drop_outliers,
            ),
            instrument=InstrumentInfo(
                instrument=resolved.instrument, source=resolved.source, warnings=resolved.warnings
            ),
            trades=trades,
            open_position=open_position,
            contribution=contribution,
            fees=fees,
            exposure=np.array(self.by_symbol[symbol], dtype=np.float64),
            ambiguous_bars=item.ambiguous,
            missing=missing,
            model_id=_model_id(request.strategies[symbol]),
        )


def _model_id(strategy: Strategy) -> str | None:
    return strategy.model_artifact.artifact_id if isinstance(strategy, ModelBacked) else None


def _correlation(
    portfolio: PortfolioCandles, symbols: Mapping[str, _Symbol]
) -> tuple[tuple[float | None, ...], ...]:
    """Pairwise correlation of the symbols' bar returns over the window, on common times."""
    returns: dict[str, dict[int, float]] = {}
    for symbol in portfolio.symbols:
        item = symbols[symbol]
        closes = item.bars.close[item.warmup :]
        stamps = item.bars.times_ns[item.warmup :]
        ratios = closes[1:] / closes[:-1] - 1.0
        returns[symbol] = dict(zip(stamps[1:].tolist(), ratios.tolist(), strict=True))
    matrix: list[tuple[float | None, ...]] = []
    for first in portfolio.symbols:
        row: list[float | None] = []
        for second in portfolio.symbols:
            a, b = returns[first], returns[second]
            common = sorted(a.keys() & b.keys())
            row.append(pearson([a[t] for t in common], [b[t] for t in common]))
        matrix.append(tuple(row))
    return tuple(matrix)
