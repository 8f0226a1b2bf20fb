"""`PortfolioLiveEngine`: one paper session trading several symbols from one account.

The live counterpart of `run_portfolio_backtest` (ADR 0017). Each round it polls every
symbol's feed, hands the new closed bars to a `BarAlignment`, and steps each bar time that is
settled — with the same `PortfolioDriver`, the same per-symbol `BarDriver`s and strategies the
backtest uses — then records the whole bar time (every present symbol's bar, events, orders,
fills, trades and kernel state, and the account) in ONE store transaction before it logs
anything. A symbol whose feed is past a bar's close without that bar is waited for
`late_bar_timeout` seconds, then the time is stepped without it (`BarAlignment`;
docs/concepts/portfolio.md, "Live").

After a crash the engine reloads the account and every member's state, rebuilds each
strategy's window and the correlation window from the stored candles, and steps the bar times
it missed: it ends where an uninterrupted run would be, and `atb parity` compares it with the
backtest of the very candles it stored.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from datetime import datetime

import attrs

from atb.config import config_to_dict
from atb.data.stop_token import StopFlag, StopRequested
from atb.domain.bars import Bar
from atb.domain.errors import AtbError, DataError, StrategyError
from atb.domain.instruments import Instrument
from atb.domain.models import LivePosition
from atb.domain.timeframes import Timeframe
from atb.engines.driver import BarDriver
from atb.engines.live.bar_alignment import BarAlignment, ReadyTime
from atb.engines.live.engine import LiveSettings, SessionStart
from atb.engines.live.health import HealthState
from atb.engines.live.log import PortfolioBarTime, SessionLog
from atb.engines.live.recorder import StrategyWindow
from atb.engines.live.session_identity import session_differences
from atb.engines.live.window import CandleWindow
from atb.engines.portfolio.driver import PortfolioDriver, PortfolioState, PortfolioStep, SymbolBar
from atb.managers.kernel_state import KernelState
from atb.managers.lookback import history_bars
from atb.managers.positions import LivePositionAdapter
from atb.managers.run_config import RunConfiguration
from atb.persistence.portfolio_store import (
    AccountRecord,
    MemberStep,
    PortfolioRecord,
    PortfolioStore,
)
from atb.persistence.store import SessionStore
from atb.ports import CandleFeed
from atb.strategies.protocol import Strategy
from atb.strategies.training_overlap import refuse_training_overlap

__all__ = ["PortfolioLiveEngine", "PortfolioSettings", "default_late_bar_timeout"]


def default_late_bar_timeout(timeframe: Timeframe) -> float:
    """How long a bar time waits for a late symbol by default: 1/20 of the bar, between 10 s
    and 5 min (15 s on 5m bars, 3 min on 1h bars)."""
    return min(300.0, max(10.0, timeframe.timedelta.total_seconds() / 20.0))


@attrs.frozen(slots=True, kw_only=True)
class PortfolioSettings:
    """What a live portfolio runs: one strategy over several symbols, each with its rules."""

    strategy_name: str
    parameters: dict[str, object]
    config: RunConfiguration
    timeframe: Timeframe
    initial_balance: float
    instruments: Mapping[str, tuple[Instrument, str]]
    """Each symbol's market rules and where they came from."""
    poll_interval: float
    late_bar_timeout: float
    """Seconds a bar time waits for a symbol whose bar has not arrived (see `BarAlignment`)."""
    start: SessionStart = SessionStart.AUTO
    model_id: str | None = None
    overlap_allowed: bool = False
    max_feed_backoff: float = 60.0
    pace: float = 0.0
    """Seconds between polling rounds that brought bars (a paced replay)."""

    @property
    def symbols(self) -> tuple[str, ...]:
        """The symbols, sorted."""
        return tuple(sorted(self.instruments))

    def member(self, symbol: str) -> LiveSettings:
        """One symbol's settings, as a single-symbol session of the same run would have them."""
        instrument, source = self.instruments[symbol]
        return LiveSettings(
            strategy_name=self.strategy_name,
            parameters=self.parameters,
            config=self.config,
            symbol=symbol,
            timeframe=self.timeframe,
            initial_balance=self.initial_balance,
            instrument=instrument,
            instrument_source=source,
            poll_interval=self.poll_interval,
            model_id=self.model_id,
        )


class PortfolioLiveEngine:
    """Runs one live (paper) portfolio until stopped or until every replay feed has ended."""

    def __init__(
        self,
        *,
        store: SessionStore,
        feeds: Mapping[str, CandleFeed],
        strategies: Mapping[str, Strategy],
        settings: PortfolioSettings,
        stop: StopFlag,
        log: SessionLog,
        health: HealthState | None = None,
        on_step: Callable[[datetime], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        symbols = settings.symbols
        if sorted(feeds) != list(symbols) or sorted(strategies) != list(symbols):
            raise ValueError("feeds, strategies and instruments must name the same symbols")
        if settings.config.fills.detail_timeframe is not None:
            raise StrategyError(
                "fills.detail_timeframe: finer candles are not supported for a portfolio yet"
            )
        self.store = store
        self.portfolios = PortfolioStore(store)
        self.feeds = dict(feeds)
        self.strategies = dict(strategies)
        self.settings = settings
        self.stop = stop
        self.log = log
        self.health = health or HealthState()
        self.health.configure(
            poll_interval=settings.poll_interval, bar_interval=settings.timeframe.timedelta
        )
        self.on_step = on_step
        self.clock = clock
        self.symbols = symbols
        self.windows = {
            symbol: CandleWindow(history_bars(strategies[symbol].warmup, settings.config))
            for symbol in symbols
        }
        self.decisions = {
            symbol: StrategyWindow(self.windows[symbol], strategies[symbol]) for symbol in symbols
        }
        self.portfolio: PortfolioRecord | None = None
        self.driver: PortfolioDriver[LivePosition] | None = None
        self.state: PortfolioState[LivePosition] | None = None
        self.alignment: BarAlignment | None = None
        self.last_time: datetime | None = None
        self.bar_times = 0
        self._after: dict[str, datetime | None] = dict.fromkeys(symbols)

    # -- session -----------------------------------------------------------------------------
    def open_session(self) -> PortfolioRecord:
        """Resume the active portfolio of this strategy, symbols and timeframe, or start one."""
        settings = self.settings
        market = f"{settings.strategy_name} {','.join(self.symbols)} {settings.timeframe}"
        found = self.portfolios.find_active(
            settings.strategy_name, self.symbols, str(settings.timeframe)
        )
        if found is not None and settings.start is SessionStart.NEW:
            self.portfolios.mark_stopped(found.id)
            self.log.write("session_ended", portfolio=found.id, reason="a new session starts")
            found = None
        if found is None and settings.start is SessionStart.RESUME:
            raise StrategyError(
                f"no active {market} portfolio in {self.store.path} to resume (was the store "
                "deleted, replaced or pruned?); without --resume a new session starts"
            )
        loaded: dict[str, KernelState[LivePosition]] = {}
        account: tuple[AccountRecord, datetime] | None = None
        processed: dict[str, list[Bar]] = {}
        if found is not None:
            self._check_same(found)
            account = self.portfolios.last_account(found.id)
            for symbol in self.symbols:
                session_id = found.members[symbol]
                stored = self.store.load_state(session_id)
                if stored is not None:
                    loaded[symbol] = stored[0]
                history = self.store.history_bars(session_id)
                processed[symbol] = self.store.processed_bars(session_id)
                for bar in [*history, *processed[symbol]][-self.windows[symbol].size :]:
                    self.windows[symbol].append(bar)
            portfolio = self.portfolios.resume(found.id)
            self.log.write(
                "session_resumed",
                portfolio=portfolio.id,
                last_bar=None if account is None else account[1],
            )
        else:
            portfolio = self._start()
        self.portfolio = portfolio
        self.driver = self._driver(portfolio)
        start = self.driver.initial_state(settings.initial_balance)
        state = start
        if account is not None:
            record, self.last_time = account
            state = PortfolioState(
                cash=record.cash,
                equity=record.equity,
                peak_equity=record.peak_equity,
                tier=record.tier,
                close_only=record.close_only,
                symbols={**start.symbols, **loaded},
                marks=dict(record.marks),
            )
        self.state = state
        returns = self.driver.returns
        if returns is not None:
            # The correlation window is not part of the stored state: it is the stored closes.
            for symbol in self.symbols:
                for bar in processed.get(symbol, [])[-(returns.lookback + 1) :]:
                    returns.push(symbol, bar.time, bar.close)
        for symbol in self.symbols:
            newest = self.windows[symbol].last
            after = None if newest is None else newest.time
            if self.last_time is not None and (after is None or after < self.last_time):
                after = self.last_time
            self._after[symbol] = after
        self.alignment = BarAlignment(
            self.symbols,
            interval=settings.timeframe.timedelta,
            late_after=settings.late_bar_timeout,
            last_time=self.last_time,
        )
        if self.last_time is not None:
            self.health.bar_processed(self.last_time)
        self._report("starting")
        return portfolio

    def _check_same(self, portfolio: PortfolioRecord) -> None:
        """Refuse to resume a portfolio with other settings than it was started with."""
        config = config_to_dict(self.settings.config)
        for symbol in self.symbols:
            session = self.store.get_session(portfolio.members[symbol])
            changed = session_differences(session, self.settings.member(symbol), config)
            if changed:
                raise StrategyError(
                    f"portfolio {portfolio.id} ({symbol}) was started with {changed[0]}; resume "
                    "it with the same settings, or pass --new-session to end it and start another"
                )

    def _start(self) -> PortfolioRecord:
        """A new portfolio: every symbol's warm-up history, checked, then stored at once."""
        settings = self.settings
        histories: dict[str, list[Bar]] = {}
        for symbol in self.symbols:
            history = self.feeds[symbol].history(None, self.windows[symbol].size)
            if history:
                # The checks a backtest makes on its candles, before anything is stored.
                instrument = settings.instruments[symbol][0]
                instrument.check_prices(
                    min(bar.low for bar in history), max(bar.high for bar in history)
                )
                instrument.check_account(
                    settings.initial_balance,
                    settings.config.risk.limits.position_cap,
                    statistics.median(bar.close for bar in history),
                )
                first = history[-1].time + settings.timeframe.timedelta
            else:
                first = self.feeds[symbol].server_time()
            refuse_training_overlap(
                self.strategies[symbol],
                first,
                None,
                allowed=settings.overlap_allowed,
                run="live session",
            )
            histories[symbol] = history
        portfolio = self.portfolios.create(
            strategy=settings.strategy_name,
            timeframe=str(settings.timeframe),
            params=settings.parameters,
            config=config_to_dict(settings.config),
            initial_balance=settings.initial_balance,
            model_id=settings.model_id,
            histories=histories,
            instruments=settings.instruments,
        )
        for symbol, history in histories.items():
            for bar in history:
                self.windows[symbol].append(bar)
        self.log.write(
            "session_started",
            portfolio=portfolio.id,
            symbols=list(self.symbols),
            history_bars={symbol: len(bars) for symbol, bars in histories.items()},
        )
        return portfolio

    def _driver(self, portfolio: PortfolioRecord) -> PortfolioDriver[LivePosition]:
        settings = self.settings
        drivers: dict[str, BarDriver[LivePosition]] = {}
        for symbol in self.symbols:
            session = self.store.get_session(portfolio.members[symbol])
            drivers[symbol] = BarDriver(
                config=settings.config,
                instrument=settings.instruments[symbol][0],
                positions=LivePositionAdapter(),
                decider=self.strategies[symbol],
                bar_interval=settings.timeframe.timedelta,
                id_prefix=session.id_prefix,
                history_bars=self.windows[symbol].size,
            )
        return PortfolioDriver(drivers)

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> None:
        """Poll every symbol, step every settled bar time, repeat until stopped (or every
        replay has ended). Opens the session first unless `open_session` was called."""
        try:
            if self.portfolio is None and not self.stop.is_set():
                self.open_session()
            self._poll_until_stopped()
        except StopRequested:
            pass  # a feed request or wait was cut short: nothing of its bar time was written
        if self.portfolio is not None:
            self._release(self.portfolio.id)
        self._report("stopped")
        self.log.write("stopped", portfolio=self.portfolio.id if self.portfolio else None)

    def _release(self, portfolio_id: int) -> None:
        """Mark the clean stop in the store (see `LiveEngine._release`)."""
        try:
            self.portfolios.release(portfolio_id)
        except AtbError as error:
            self.log.write("release_failed", portfolio=portfolio_id, error=str(error))

    def _poll_until_stopped(self) -> None:
        alignment = self.alignment
        assert alignment is not None
        failures = 0
        while not self.stop.is_set():
            self.health.poll_started()
            try:
                arrived = self._poll_round(alignment)
            except DataError as error:
                failures += 1
                wait = min(
                    self.settings.max_feed_backoff, self.settings.poll_interval * 2**failures
                )
                self.log.write("feed_error", error=str(error), retry_in=wait)
                self.health.poll_failed(str(error))
                self._report("feed_error")
                self.stop.wait(wait)
                continue
            failures = 0
            ready = alignment.ready(self.clock())
            for index, settled in enumerate(ready):
                if self.stop.is_set():
                    return
                self.process(settled, catching_up=index < len(ready) - 1)
            self._report("running")
            if alignment.exhausted:
                break
            if arrived and self.settings.pace:
                self.stop.wait(self.settings.pace)
            elif not arrived:
                self.stop.wait(self.settings.poll_interval)

    def _poll_round(self, alignment: BarAlignment) -> int:
        """Poll every symbol's feed once; the number of new bars."""
        arrived = 0
        clocks: list[datetime] = []
        for symbol in self.symbols:
            feed = self.feeds[symbol]
            batch = feed.poll(self._after[symbol])
            clocks.append(batch.server_time)
            if batch.bars:
                self._after[symbol] = batch.bars[-1].time
            arrived += len(batch.bars)
            for start, missing in batch.gaps:
                self.log.write("gap", symbol=symbol, first_missing=start, missing_bars=missing)
            for bar in alignment.offer(symbol, batch.bars, batch.server_time):
                self.log.write(
                    "late_bar_dropped",
                    symbol=symbol,
                    bar_time=bar.time,
                    reason="its bar time was already stepped without it",
                )
            if feed.finished:
                alignment.end(symbol)
        # The slowest feed's clock: how far the whole portfolio can have stepped.
        self.health.poll_succeeded(min(clocks), new_bars=arrived)
        return arrived

    def process(
        self, settled: ReadyTime, *, catching_up: bool = False
    ) -> PortfolioStep[LivePosition]:
        """Step one settled bar time, record it in one transaction, then log it."""
        driver, state, portfolio = self.driver, self.state, self.portfolio
        assert driver is not None
        assert state is not None
        assert portfolio is not None
        present: dict[str, SymbolBar] = {}
        for symbol, bar in settled.bars.items():
            row, history = self.decisions[symbol].push(bar)
            present[symbol] = SymbolBar(bar, row, history)
        step = driver.step(state, settled.time, present)
        after = step.state
        self.portfolios.record_step(
            portfolio.id,
            settled.time,
            members=[
                MemberStep(symbol, settled.bars[symbol], step.results[symbol])
                for symbol in self.symbols
                if symbol in step.results
            ],
            account=AccountRecord(
                cash=after.cash,
                equity=after.equity,
                peak_equity=after.peak_equity,
                tier=after.tier,
                close_only=after.close_only,
                marks=after.marks,
            ),
            exposures=step.exposures,
            events=[event for owner, event in step.events if owner is None],
        )
        self.state = after
        self.last_time = settled.time
        self.bar_times += 1
        self.health.bar_processed(settled.time)
        for symbol in settled.late:
            self.log.write("late_bar", symbol=symbol, bar_time=settled.time, stepped_without=True)
        self.log.bar_time(
            PortfolioBarTime(
                time=settled.time,
                present=tuple(settled.bars),
                equity=step.equity,
                positions={
                    symbol: own.position
                    for symbol, own in after.symbols.items()
                    if own.position is not None
                },
                events=step.events,
            )
        )
        self._report("catching_up" if catching_up else "running")
        if self.on_step is not None:
            self.on_step(settled.time)
        return step

    def _report(self, status: str) -> None:
        """The portfolio's figures, for the health endpoint."""
        state = self.state
        positions: dict[str, object] = {}
        if state is not None:
            for symbol, own in state.symbols.items():
                position = own.position
                if position is not None:
                    positions[symbol] = {
                        "side": position.side.value,
                        "quantity": position.quantity,
                        "entry_price": position.entry_price,
                        "stop_loss": position.stop_loss,
                        "take_profit": position.take_profit,
                    }
        self.health.update(
            portfolio=self.portfolio.id if self.portfolio else None,
            strategy=self.settings.strategy_name,
            symbols=list(self.symbols),
            timeframe=str(self.settings.timeframe),
            bars_processed=self.bar_times,
            equity=state.equity if state else None,
            cash=state.cash if state else None,
            close_only=state.close_only if state else None,
            positions=positions,
        )
        self.health.set_status(status)
