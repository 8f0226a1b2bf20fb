"""`LiveEngine`: the shared kernel fed by closed candles as they arrive, with paper fills.

Per closed bar, in order: append it to the rolling window, prepare the strategy on the window,
run `Kernel.step` (fills happen inside the kernel with the shared `FillModel` and
`CostCalculator` — the paper broker is exactly the backtest's execution), then write the bar,
its events, the equity and the complete kernel state to the store in ONE transaction, and only
then log and report. The market orders decided at a bar's close are part of that state, so an
order intent is always on disk before the next bar acts on it.

After a crash the engine reloads the last committed state and processes the missed closed bars
in order; because the step is deterministic, it ends where an uninterrupted run would be.

Stopping: the engine checks its stop flag between bars and wakes from its waits on it; with a
`StopToken` the exchange client also abandons a request or a retry wait with `StopRequested`,
which `run` takes as the stop it is. The store is only written between those points, so a stop
never cuts a bar's transaction in half (docs/concepts/live.md, "Stopping").
"""

from __future__ import annotations

import enum
import secrets
import statistics
from collections.abc import Callable
from datetime import datetime

import attrs

from atb.config import config_to_dict
from atb.data.stop_token import StopFlag, StopRequested
from atb.domain.bars import Bar
from atb.domain.errors import AtbError, DataError, StrategyError
from atb.domain.instruments import Instrument
from atb.domain.intents import ExitReason
from atb.domain.models import LivePosition
from atb.domain.timeframes import Timeframe, parse_timeframe
from atb.engines.bar_loop import BarLoop
from atb.engines.driver import BarDriver
from atb.engines.live.daily_loss import DailyLossRail
from atb.engines.live.health import HealthState
from atb.engines.live.log import SessionLog
from atb.engines.live.real_execution import RealExecution, opening_baseline
from atb.engines.live.recorder import StoreRecorder, StrategyWindow
from atb.engines.live.session_identity import session_differences
from atb.engines.live.window import CandleWindow
from atb.managers.costs import CostCalculator
from atb.managers.kernel_state import KernelState, StepResult
from atb.managers.lookback import history_bars
from atb.managers.positions import LivePositionAdapter
from atb.managers.run_config import RunConfiguration
from atb.persistence.order_journal import StoreJournal
from atb.persistence.records import SessionRecord
from atb.persistence.store import SessionStore
from atb.ports import CandleFeed
from atb.strategies.protocol import Strategy
from atb.strategies.training_overlap import refuse_training_overlap
from atb.venues.exchange.spot_client import ExchangeUnavailableError, SpotClient
from atb.venues.exchange.validating import ValidatingVenue
from atb.venues.exchange.venue import ExchangeVenue
from atb.venues.simulated import SimulatedVenue


class SessionStart(enum.Enum):
    """How `atb live` treats an active session of the same strategy, symbol and timeframe."""

    AUTO = "auto"
    """Resume it when there is one, else start a new session."""
    RESUME = "resume"
    """Resume it; refuse when there is none (the store was lost, replaced or pruned)."""
    NEW = "new"
    """Stop it for good and start a new session."""


@attrs.frozen(slots=True, kw_only=True)
class LiveSettings:
    """What a live session runs: strategy and parameters, config, market and account."""

    strategy_name: str
    parameters: dict[str, object]
    config: RunConfiguration
    symbol: str
    timeframe: Timeframe
    initial_balance: float
    instrument: Instrument
    poll_interval: float
    instrument_source: str = ""
    """Where the instrument's rules came from (recorded with the session)."""
    start: SessionStart = SessionStart.AUTO
    """Resume the active session, insist on resuming one, or start a new one."""
    model_id: str | None = None
    max_feed_backoff: float = 60.0
    overlap_allowed: bool = False
    """Let a model-backed strategy decide on bars of its own training window (see
    `atb.strategies.training_overlap`); checked when a new session starts."""
    max_daily_loss: float | None = None
    """A rail, in quote: when equity falls this much below its level at the start of the UTC
    day (by bar time), the position is flattened and the session stops."""


@attrs.frozen(slots=True)
class ExchangeAccess:
    """A real session's account on the exchange: the client, and whether unexplained holdings
    are adopted (left outside the session, and recorded) instead of refused."""

    client: SpotClient
    adopt: bool = False
    max_order_value: float | None = None
    """A rail, in quote: buys worth more are refused before they are sent."""
    validate_only: bool = False
    """Paper fills; each market order is first sent to the exchange's test-order endpoint."""


def default_poll_interval(timeframe: Timeframe) -> float:
    """A poll interval suited to the bar length: 1/120 of it, between 1 s and 60 s."""
    return min(60.0, max(1.0, timeframe.timedelta.total_seconds() / 120.0))


class LiveEngine:
    """Runs one live (paper) session until stopped or until a replay feed is exhausted."""

    def __init__(
        self,
        *,
        store: SessionStore,
        feed: CandleFeed,
        strategy: Strategy,
        settings: LiveSettings,
        stop: StopFlag,
        log: SessionLog,
        health: HealthState | None = None,
        on_bar: Callable[[Bar], None] | None = None,
        exchange: ExchangeAccess | None = None,
    ) -> None:
        self.store = store
        self.feed = feed
        self.strategy = strategy
        self.settings = settings
        self.stop = stop
        self.log = log
        self.health = health or HealthState()
        self.health.configure(
            poll_interval=settings.poll_interval, bar_interval=settings.timeframe.timedelta
        )
        self.on_bar = on_bar
        self.window = CandleWindow(history_bars(strategy.warmup, settings.config))
        self.session: SessionRecord | None = None
        self.state: KernelState[LivePosition] | None = None
        self.last_time: datetime | None = None
        self.kernel: BarDriver[LivePosition] | None = None
        self.loop: BarLoop[LivePosition] | None = None
        self.bars_processed = 0
        self.exchange = exchange
        self.execution: RealExecution | None = None
        self.flatten_requested: str | None = None
        """Set (to the reason) by `request_flatten`, acted on at the next safe point."""
        self.halted: str | None = None
        """Why the session stopped by itself (a flatten), None while it runs."""
        self.daily_loss: DailyLossRail | None = None

    # -- session -----------------------------------------------------------------------------
    def open_session(self) -> SessionRecord:
        """Resume the active session for this strategy/symbol/timeframe, or start a new one."""
        settings = self.settings
        config = config_to_dict(settings.config)
        market = f"{settings.strategy_name} {settings.symbol} {settings.timeframe}"
        session = self.store.find_active_session(
            settings.strategy_name, settings.symbol, str(settings.timeframe)
        )
        if session is not None and settings.start is SessionStart.NEW:
            self.store.mark_stopped(session.id)
            self.log.write("session_ended", session=session.id, reason="a new session starts")
            session = None
        if session is None and settings.start is SessionStart.RESUME:
            raise StrategyError(
                f"no active {market} session in {self.store.path} to resume (was the store "
                "deleted, replaced or pruned?); without --resume a new session starts"
            )
        if session is not None:
            changed = session_differences(session, settings, config)
            if changed:
                raise StrategyError(
                    f"session {session.id} ({market}) was started with {changed[0]}"
                    f"{f' (and {len(changed) - 1} more difference(s))' if len(changed) > 1 else ''}"
                    "; resume it with the same settings, or pass --new-session to end it and "
                    "start another"
                )
            # Read (and verify) everything first: a damaged store is refused before this
            # process claims the session, so the refusal leaves the file as it was.
            loaded = self.store.load_state(session.id)
            history = self.store.history_bars(session.id)
            processed = self.store.processed_bars(session.id)
            session = self.store.resume_session(session.id)
            if loaded is None and not history and not processed:
                # Stores written before sessions and their history shared one transaction can
                # hold a session that never started: start it now, with its warm-up history.
                history = self.feed.history(None, self.window.size)
                self.store.record_history(session.id, history)
            for bar in [*history, *processed][-self.window.size :]:
                self.window.append(bar)
            if loaded is not None:
                self.state, self.last_time = loaded
            elif history:
                self.last_time = history[-1].time
            self.log.write("session_resumed", session=session.id, last_bar=self.last_time)
        else:
            history = self.feed.history(None, self.window.size)
            self._check_instrument(history)
            # The session decides from the bar after its history onwards (open-ended).
            first_decision = (
                history[-1].time + settings.timeframe.timedelta
                if history
                else self.feed.server_time()
            )
            refuse_training_overlap(
                self.strategy,
                first_decision,
                None,
                allowed=settings.overlap_allowed,
                run="live session",
            )
            baseline = None
            if self.exchange is not None and not self.exchange.validate_only:
                # Read the account before anything is written: a refusal leaves no session.
                baseline = opening_baseline(
                    self.exchange.client,
                    settings.instrument,
                    settings.initial_balance,
                    adopt=self.exchange.adopt,
                )
            session = self.store.create_session(
                strategy=settings.strategy_name,
                params=settings.parameters,
                config=config,
                symbol=settings.symbol,
                timeframe=str(settings.timeframe),
                initial_balance=settings.initial_balance,
                model_id=settings.model_id,
                history=history,
                instrument=settings.instrument,
                instrument_source=settings.instrument_source,
                # A real session's client order ids must not meet another store's on the
                # same account: its prefix is random (and then fixed, in the store).
                id_prefix=None if baseline is None else f"atb{secrets.token_hex(3)}",
            )
            if baseline is not None:
                StoreJournal(self.store, session.id).record_baseline(baseline)
                if baseline.adopted:
                    self.log.write("adopted", session=session.id, what=baseline.adopted)
            for bar in history:
                self.window.append(bar)
            self.last_time = history[-1].time if history else None
            self.log.write("session_started", session=session.id, history_bars=len(history))
        self.session = session
        venue = self._exchange_venue(session)
        validating = self._validating_venue()
        self.kernel = BarDriver(
            config=settings.config,
            instrument=settings.instrument,
            positions=LivePositionAdapter(),
            decider=self.strategy,
            bar_interval=settings.timeframe.timedelta,
            id_prefix=session.id_prefix,
            history_bars=self.window.size,
            venue=venue or validating,
        )
        if self.state is None:
            self.state = self.kernel.initial_state(settings.initial_balance)
        if venue is not None:
            venue.market_time = self.feed.server_time()
            self.execution = RealExecution(
                venue, adopt=self.exchange is not None and self.exchange.adopt
            )
            adopted = self.execution.start(
                self.kernel, self.state, self.window.last, self.last_time
            )
            if adopted:
                self.log.write("adopted", session=session.id, what=adopted)
        self.loop = BarLoop(
            self.kernel,
            StrategyWindow(self.window, self.strategy),
            StoreRecorder(self.store, session.id),
            self.state,
            self.last_time,
            snapshot_every_bar=True,
        )
        if self.last_time is not None:
            self.health.bar_processed(self.last_time)
        if settings.max_daily_loss is not None:
            self.daily_loss = DailyLossRail(
                settings.max_daily_loss, settings.timeframe.timedelta, settings.initial_balance
            )
            self.daily_loss.restore(self.store.equity(session.id))
        self._report("starting")
        return session

    def _exchange_venue(self, session: SessionRecord) -> ExchangeVenue | None:
        """The session's exchange venue (None for paper trading); a session is resumed only
        in the mode it was started in."""
        journal = StoreJournal(self.store, session.id)
        real = journal.baseline() is not None
        if real != self._trades_for_real:
            raise StrategyError(
                f"session {session.id} was started "
                f"{'with --live-trading' if real else 'as a paper session'}; resume it the same "
                "way, or pass --new-session to end it and start another"
            )
        if self.exchange is None or not real:
            return None
        self.exchange.client.on_retry = self._exchange_retry
        settings = self.settings
        return ExchangeVenue(
            client=self.exchange.client,
            journal=journal,
            costs=CostCalculator(settings.config.costs, settings.instrument),
            bar_interval=settings.timeframe.timedelta,
            log=self.log.write,
            max_order_value=self.exchange.max_order_value,
            id_prefix=session.id_prefix,
            model=SimulatedVenue.build(
                settings.config.costs, settings.config.fills.intrabar, settings.instrument
            ),
        )

    def _exchange_retry(self, what: str, why: str, wait: float) -> None:
        self.log.write("exchange_retry", what=what, why=why, retry_in=wait)

    @property
    def _trades_for_real(self) -> bool:
        return self.exchange is not None and not self.exchange.validate_only

    def _validating_venue(self) -> ValidatingVenue | None:
        """With --validate-only: paper fills, each market order checked by the exchange."""
        if self.exchange is None or not self.exchange.validate_only:
            return None
        settings = self.settings
        simulated = SimulatedVenue.build(
            settings.config.costs, settings.config.fills.intrabar, settings.instrument
        )
        return ValidatingVenue(simulated, self.exchange.client, self.log.write)

    def _check_instrument(self, history: list[Bar]) -> None:
        """Refuse, before anything is stored, rules that cannot serve this market or account
        (the backtest engine makes the same checks on its candles)."""
        if not history:
            return
        settings = self.settings
        lows = [bar.low for bar in history]
        settings.instrument.check_prices(min(lows), max(bar.high for bar in history))
        # The account check asks about a typical price (the median close), which one bad
        # print cannot move.
        typical = statistics.median(bar.close for bar in history)
        cap = settings.config.risk.limits.position_cap
        settings.instrument.check_account(settings.initial_balance, cap, typical)

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> None:
        """Poll, process every newly closed bar, repeat until stopped (or the replay ends).

        Opens the session first unless `open_session` was called (and not cut short by a stop).
        Ends with the `stopped` log line and health status, however the stop arrived.
        """
        try:
            if self.session is None and not self.stop.is_set():
                self.open_session()
            self._poll_until_stopped()
        except StopRequested:
            pass  # a feed request or wait was cut short: nothing of its bar had been written
        if self.session is not None:
            self._release(self.session.id)
        self._report("stopped")
        self.log.write("stopped", session=self.session.id if self.session else None)

    def _release(self, session_id: int) -> None:
        """Mark the clean stop in the store (a killed process never gets here), so the session
        reads as stopped, not crashed (`atb.persistence.liveness`). A store that cannot take
        the mark only costs that distinction: it is logged, and the stop goes on."""
        try:
            self.store.release_session(session_id)
        except AtbError as error:
            self.log.write("release_failed", session=session_id, error=str(error))

    def _poll_until_stopped(self) -> None:
        failures = 0
        while not self.stop.is_set() and self.halted is None:
            if self.flatten_requested is not None:
                self._flatten(self.flatten_requested)
                break
            self.health.poll_started()
            try:
                batch = self.feed.poll(self.last_time)
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
            self.health.poll_succeeded(batch.server_time, new_bars=len(batch.bars))
            for start, missing in batch.gaps:
                self.log.write("gap", first_missing=start, missing_bars=missing)
            catching_up = len(batch.bars) > 1
            if self.execution is not None:
                self.execution.venue.market_time = batch.server_time
            try:
                for index, bar in enumerate(batch.bars):
                    if self.stop.is_set() or self.flatten_requested is not None:
                        break
                    newest = index == len(batch.bars) - 1
                    self.process(bar, catching_up=catching_up, newest=newest)
            except ExchangeUnavailableError as error:
                # The bar in flight was not stored: reconnect as a restart would, from the
                # store (recover, reconcile, act), and process it again.
                self._reconnect(error)
                continue
            self._report("running")
            if self.feed.finished and not batch.bars:
                break
            if not batch.bars:
                # Nothing new: wait. After new bars, poll again at once (more may be waiting).
                self.stop.wait(self.settings.poll_interval)

    # -- rails ---------------------------------------------------------------------------------
    def request_flatten(self, reason: str) -> None:
        """Ask the session to close its position and stop (safe from a signal handler: it only
        sets a flag, read at the next safe point)."""
        self.flatten_requested = reason

    def _watch_daily_loss(self, bar: Bar, opening_equity: float, equity: float) -> None:
        rail = self.daily_loss
        if rail is None:
            return
        loss = rail.loss_if_breached(bar.time, opening_equity, equity)
        if loss is not None:
            self.log.write(
                "max_daily_loss", loss=loss, limit=rail.limit, day_open_equity=rail.day_open_equity
            )
            self.request_flatten(ExitReason.FLATTEN.value + ": max daily loss")

    def _flatten(self, reason: str) -> None:
        """Queue a CLOSE of the position after the last stored bar, store it, send it (a real
        session sends it at once; a paper session fills it at the next bar when resumed),
        then stop."""
        state, bar, session, kernel = self.state, self.window.last, self.session, self.kernel
        self.flatten_requested = None
        if state is None or bar is None or session is None or kernel is None:
            self.halted = reason
            return
        execution = self.execution
        keep = [
            order
            for order in state.pending
            if execution is not None and execution.venue.was_sent(order.order_id)
        ]
        flattened, events = kernel.flatten(state, bar, reason, keep)
        self.store.record_intervention(session.id, bar.time, events, flattened)
        self.state = flattened
        if self.loop is not None:
            self.loop.state = flattened
        if execution is not None:
            execution.after_bar(kernel, flattened, bar)
        self.log.write("flattened", session=session.id, reason=reason, orders=len(events))
        self.halted = reason

    def _reconnect(self, error: ExchangeUnavailableError) -> None:
        """After the exchange was lost: wait, then reload the session from the store and
        settle with the exchange exactly as a restart does, until that succeeds or a stop."""
        failures = 0
        while not self.stop.is_set():
            failures += 1
            wait = min(self.settings.max_feed_backoff, self.settings.poll_interval * 2**failures)
            self.log.write("exchange_lost", error=str(error), retry_in=wait)
            self._report("exchange_lost")
            if self.stop.wait(wait):
                return
            try:
                self._reload()
            except ExchangeUnavailableError as again:
                error = again
                continue
            self.log.write("exchange_regained", session=self.session.id if self.session else None)
            return

    def _reload(self) -> None:
        """Forget the in-memory session and open it again from the store."""
        self.window = CandleWindow(self.window.size)
        self.session = None
        self.state = None
        self.last_time = None
        self.execution = None
        settings = self.settings
        self.settings = attrs.evolve(settings, start=SessionStart.RESUME)
        try:
            self.open_session()
        finally:
            self.settings = settings

    def process(self, bar: Bar, *, catching_up: bool = False, newest: bool = True) -> None:
        """One closed bar: kernel step, then one store transaction, then logs. A real session
        then acts on the bar's decisions — only on the newest bar of a catch-up: the market has
        moved past the others (their exits still go out when the kernel steps on)."""
        loop = self.loop
        assert loop is not None
        if loop.last_time is not None and bar.time <= loop.last_time:
            return  # already processed (a duplicate or out-of-order kline)
        try:
            outcome = loop.feed(bar, self._detail(bar))
        except ExchangeUnavailableError:
            raise  # nothing of the bar was stored: the loop reconnects and processes it again
        except AtbError:
            self._report("store_error")
            raise
        assert outcome is not None
        result = StepResult.of(loop.state, outcome)
        if loop.last_detail_inconsistent:
            self.log.write("detail_inconsistent", bar_time=bar.time)
        opening_equity = self.state.equity if self.state is not None else result.equity
        self.state = result.state
        self.last_time = bar.time
        self.bars_processed += 1
        self._watch_daily_loss(bar, opening_equity, result.equity)
        self.health.bar_processed(bar.time)
        self.log.bar(bar, result)
        if self.execution is not None and self.kernel is not None and newest:
            # The bar is stored (and told): now its decisions go to the exchange, journal first.
            self.execution.after_bar(self.kernel, result.state, bar)
        self._report("catching_up" if catching_up else "running")
        if self.on_bar is not None:
            self.on_bar(bar)

    def _detail(self, bar: Bar) -> list[Bar]:
        """The bar's finer candles when `fills.detail_timeframe` is set (the loop keeps them
        only when they lie inside the bar)."""
        name = self.settings.config.fills.detail_timeframe
        if name is None:
            return []
        return self.feed.detail(bar, parse_timeframe(name))

    def _report(self, status: str) -> None:
        """The engine's state and the session's figures, for the health endpoint."""
        state = self.state
        position = state.position if state is not None else None
        self.health.update(
            session=self.session.id if self.session else None,
            strategy=self.settings.strategy_name,
            symbol=self.settings.symbol,
            timeframe=str(self.settings.timeframe),
            bars_processed=self.bars_processed,
            equity=state.equity if state else None,
            cash=state.cash if state else None,
            close_only=state.close_only if state else None,
            position=None
            if position is None
            else {
                "side": position.side.value,
                "quantity": position.quantity,
                "entry_price": position.entry_price,
                "stop_loss": position.stop_loss,
                "take_profit": position.take_profit,
            },
        )
        self.health.set_status(status)
