"""Issue 3's acceptance: the kernel over the real BTCUSDT sample, driven by a scripted decider,
with every manager acting, and identical results for `ActiveTrade` and `LivePosition`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from atb.config import config_from_assignments
from atb.domain.events import (
    OrderFilled,
    PositionClosed,
    StopMoved,
    TierChanged,
)
from atb.domain.fills import FillKind
from atb.managers.positions import ActiveTradeAdapter, LivePositionAdapter
from tests.support.scripted import AlternatingDecider, load_sample_bars, run_kernel

CONFIG = [
    "trailing.breakeven_trigger_pct=0.01",
    "trailing.activation_pct=0.02",
    "partials=on",
    "risk.max_position=0.5",
]


def test_every_manager_acts_identically_for_both_position_classes(
    sample_csv: Path,
) -> None:
    bars = load_sample_bars(sample_csv)
    assert len(bars) == 18_000
    config = config_from_assignments(CONFIG)
    decider = AlternatingDecider(period=48, hold=40, size=0.3, stop_loss_pct=0.03)
    backtest = run_kernel(bars, decider, ActiveTradeAdapter(), config=config)
    live = run_kernel(bars, decider, LivePositionAdapter(), config=config)

    fills = Counter(e.fill.kind for e in backtest.events if isinstance(e, OrderFilled))
    stops = Counter(e.cause for e in backtest.events if isinstance(e, StopMoved))
    reasons = Counter(e.trade.exit_reason for e in backtest.events if isinstance(e, PositionClosed))
    assert fills[FillKind.PARTIAL_EXIT] > 0
    assert fills[FillKind.SCALE_IN] > 0
    assert stops["breakeven"] > 0
    assert stops["trailing"] > 0
    assert reasons["trailing stop"] > 0
    assert reasons["breakeven stop"] > 0

    # Dynamic risk really shrank entries: some entries were filled while a tier was active.
    tier = 0
    reduced_entries = 0
    for event in backtest.events:
        if isinstance(event, TierChanged):
            tier = event.new_tier
        elif isinstance(event, OrderFilled) and event.fill.kind is FillKind.ENTRY and tier > 0:
            reduced_entries += 1
    assert reduced_entries > 0

    assert live.events == backtest.events
    assert live.state.cash == backtest.state.cash
    assert live.state.equity == backtest.state.equity
    assert live.metrics() == backtest.metrics()
    assert backtest.metrics().n_trades == sum(reasons.values())
