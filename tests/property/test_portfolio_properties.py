"""Hypothesis invariants of a portfolio over random markets (2–4 symbols with missing bars),
random decisions and random caps:

- no bar time ends with more open positions than `risk.max_positions`;
- every fill that adds exposure (an entry, a scale-in) leaves the symbol's position within
  `risk.max_position` and all positions together within the exposure cap, valued at the prices
  of that moment (the other symbols at theirs);
- cash reconciles: the final equity is the initial balance plus every closed trade's net PnL
  plus the open positions' marked net PnL;
- the result does not depend on the order the symbols are given in.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from atb.config import config_from_assignments
from atb.data.instruments import ResolvedInstrument
from atb.data.portfolio import PortfolioCandles, assemble_portfolio
from atb.data.schema import INDEX_NAME
from atb.data.validation import validate_candles
from atb.domain.decisions import Action, Decision
from atb.domain.instruments import Instrument
from atb.domain.models import ActiveTrade
from atb.engines.driver import BarDriver
from atb.engines.portfolio.backtest import PortfolioRequest, run_portfolio_backtest
from atb.managers.fills import LevelKind
from atb.managers.orders import MarketOrder, OrderIntent
from atb.managers.run_config import RunConfiguration
from atb.results import PortfolioResult
from atb.venues.simulated import SimulatedVenue
from tests.support.recording_venue import RecordingVenue
from tests.support.scripted_strategy import ScriptedStrategy

SYMBOLS = ("AAABTC", "BBBBTC", "CCCBTC", "DDDBTC")


def _frame(seed: int, bars: int, drop: list[int]) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = np.round(0.05 * np.exp(np.cumsum(rng.normal(0.0, 0.01, bars))), 6)
    open_ = np.concatenate(([0.05], close[:-1]))
    high = np.round(np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, bars)), 6)
    low = np.round(np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, bars)), 6)
    index = pd.date_range("2024-01-01", periods=bars, freq="1h", tz="UTC", name=INDEX_NAME)
    frame = pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": 10.0},
        index=index.as_unit("ns"),
    )
    return frame.drop(frame.index[[row for row in drop if 0 < row < bars - 1]])


@st.composite
def markets(draw: st.DrawFn) -> tuple[PortfolioCandles, dict[str, dict[int, Decision]]]:
    count = draw(st.integers(min_value=2, max_value=4))
    bars = draw(st.integers(min_value=20, max_value=60))
    candles = {}
    rules = {}
    scripts: dict[str, dict[int, Decision]] = {}
    for symbol in SYMBOLS[:count]:
        drop = draw(st.lists(st.integers(min_value=1, max_value=bars - 2), max_size=4))
        frame = _frame(draw(st.integers(min_value=0, max_value=10_000)), bars, drop)
        candles[symbol] = validate_candles(frame, source=symbol, timeframe="1h")
        rules[symbol] = ResolvedInstrument(
            Instrument(
                symbol=symbol, tick_size=0.000001, lot_step=0.001, min_notional=0.0001,
                quote_asset="BTC",
            ),
            "test",
        )  # fmt: skip
        rows = len(frame)
        scripts[symbol] = draw(
            st.dictionaries(
                st.integers(min_value=0, max_value=rows - 1),
                st.one_of(
                    st.builds(
                        Decision,
                        st.sampled_from([Action.ENTER_LONG, Action.ENTER_SHORT]),
                        size=st.floats(min_value=0.1, max_value=1.0),
                        stop_loss_pct=st.sampled_from([None, 0.01, 0.03]),
                        take_profit_pct=st.sampled_from([None, 0.02, 0.05]),
                    ),
                    st.just(Decision(Action.EXIT)),
                ),
                min_size=rows // 4,
                max_size=rows // 2,
            )
        )
    return assemble_portfolio(candles, rules), scripts


def _config(
    positions: int, position: float, exposure: float, partials: bool, correlation: str | None
) -> RunConfiguration:
    assignments = [
        f"risk.max_positions={positions}",
        f"risk.max_position={position}",
        f"risk.max_exposure={exposure}",
        "risk.max_drawdown=None",
    ]
    if partials:
        assignments.append("partials.scale_in_thresholds=[[0.005, 0.5], [0.01, 0.5]]")
    if correlation is not None:
        assignments += [
            f"correlation.action={correlation}",
            "correlation.threshold=0.2",
            "correlation.lookback=5",
        ]
    return config_from_assignments(assignments)


configs = st.builds(
    _config,
    st.integers(min_value=1, max_value=3),
    st.sampled_from([0.2, 0.5, 1.0]),
    st.sampled_from([0.3, 0.6, 1.0]),
    st.booleans(),
    st.sampled_from([None, "reduce", "refuse"]),
)


def _run(
    portfolio: PortfolioCandles,
    scripts: dict[str, dict[int, Decision]],
    config: RunConfiguration,
    venues: dict[str, RecordingVenue] | None = None,
) -> PortfolioResult:
    def venue(symbol: str, driver: BarDriver[ActiveTrade]) -> RecordingVenue:
        assert isinstance(driver.venue, SimulatedVenue)
        recording = RecordingVenue(driver.venue)
        if venues is not None:
            venues[symbol] = recording
        return recording

    strategies = {symbol: ScriptedStrategy(scripts[symbol]) for symbol in portfolio.symbols}
    return run_portfolio_backtest(
        PortfolioRequest(
            strategies=strategies,
            candles=portfolio,
            config=config,
            initial_balance=1.0,
            venues=venue,
        )
    )


def _open_counts(result: PortfolioResult) -> dict[int, int]:
    """Open positions at the end of every bar time (ns) of the curve."""
    spans: list[tuple[datetime, datetime | None]] = [
        (trade.entry_time, trade.exit_time) for trade in result.trades
    ]
    for part in result.symbols:
        if part.open_position is not None:
            spans.append((part.open_position.position.entry_time, None))
    counts = {}
    for stamp in result.equity.times_ns.tolist():
        time = pd.Timestamp(stamp, tz="UTC").to_pydatetime()
        counts[stamp] = sum(
            1 for entry, exit in spans if entry <= time and (exit is None or exit > time)
        )
    return counts


@settings(max_examples=60, deadline=None)
@given(markets(), configs)
def test_caps_hold_at_every_bar_and_every_fill(
    market: tuple[PortfolioCandles, dict[str, dict[int, Decision]]], config: RunConfiguration
) -> None:
    portfolio, scripts = market
    venues: dict[str, RecordingVenue] = {}
    result = _run(portfolio, scripts, config, venues)
    limits = config.risk.limits
    assert limits.max_positions is not None
    assert max(_open_counts(result).values(), default=0) <= limits.max_positions
    adding = 0
    for venue in venues.values():
        held = 0.0
        for execution in venue.executions:
            order = execution.order
            account = execution.account
            for fill in execution.fills:
                opens = isinstance(order, MarketOrder) and order.intent in (
                    OrderIntent.OPEN_LONG,
                    OrderIntent.OPEN_SHORT,
                )
                scales = not isinstance(order, MarketOrder) and (
                    order.level.kind is LevelKind.SCALE_IN
                )
                if not (opens or scales):
                    continue
                adding += 1
                before = 0.0 if account.position is None else account.position.quantity
                held = before + fill.quantity
                equity = account.equity(fill.price)
                assert account.others is not None
                notional = held * fill.price
                assert notional <= limits.position_cap * equity * (1 + 1e-9)
                assert notional + account.others.notional <= limits.exposure_cap * equity * (
                    1 + 1e-9
                )
    # Reconciliation: equity = balance + closed net PnL + open positions' marked net PnL.
    total = 1.0
    for trade in result.trades:
        total += trade.pnl
    for part in result.symbols:
        if part.open_position is not None:
            total += part.open_position.net_pnl
    assert abs(total - float(result.equity.equity[-1])) <= 1e-9


@settings(max_examples=20, deadline=None)
@given(markets(), configs, st.randoms(use_true_random=False))
def test_results_do_not_depend_on_the_order_symbols_are_given_in(
    market: tuple[PortfolioCandles, dict[str, dict[int, Decision]]],
    config: RunConfiguration,
    shuffle: object,
) -> None:
    portfolio, scripts = market
    names = list(portfolio.symbols)
    reordered = list(reversed(names))
    again = assemble_portfolio(
        {symbol: portfolio.candles[symbol] for symbol in reordered},
        {symbol: portfolio.instruments[symbol] for symbol in reordered},
    )
    first = _run(portfolio, scripts, config)
    second = _run(again, {symbol: scripts[symbol] for symbol in reordered}, config)
    assert first.events == second.events
    assert first.equity == second.equity
    assert first.metrics == second.metrics
