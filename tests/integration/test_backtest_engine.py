"""The backtest engine over real and synthetic candles: the quiet-bar fast path is identical to
stepping every bar, runs are deterministic, and the end of data is handled as documented."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from atb.config import config_from_assignments
from atb.data.candles import ValidatedCandles
from atb.data.loading import load_candles
from atb.domain.errors import DataError
from atb.engines.backtest import BacktestRequest, run_backtest
from atb.engines.backtest.engine import END_OF_DATA
from atb.results import BacktestResult
from atb.strategies.registry import create_strategy

FIXED_CLOCK = datetime(2026, 1, 1, tzinfo=UTC)

CONFIGS = {
    "default": [],
    "managers": ["trailing=on", "partials=on", "risk.max_position=0.5"],
    "breakeven-first": [
        "trailing.breakeven_trigger_pct=0.01",
        "trailing.activation_pct=0.03",
        "risk.max_position=1.0",
    ],
    "close-timing-optimistic": ["fills.timing=close", "fills.intrabar=optimistic"],
    "time-exits": ["time_exits.max_holding=30h", "fills.intrabar=nearest_extreme"],
    "atr-trailing": ["trailing.atr_multiple=2.0", "fills.intrabar=candle_direction"],
}


@pytest.fixture(scope="module")
def sample(request: pytest.FixtureRequest) -> ValidatedCandles:
    path: Path = request.getfixturevalue("sample_csv")
    return load_candles("BTCUSDT", "1h", data_file=path)


def run(
    candles: ValidatedCandles,
    assignments: list[str],
    *,
    fast: bool = True,
    close_at_end: bool = False,
    strategy: str = "sma_cross",
) -> BacktestResult:
    params: dict[str, object] = {}
    if strategy == "sma_cross":
        params = {"fast": 10, "slow": 30, "stop_loss": 0.02, "take_profit": 0.04}
        params["allow_short"] = True
    return run_backtest(
        BacktestRequest(
            strategy=create_strategy(strategy, params),
            candles=candles,
            config=config_from_assignments(assignments),
            symbol="BTCUSDT",
            fast=fast,
            close_at_end=close_at_end,
        ),
        clock=lambda: FIXED_CLOCK,
    )


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_quiet_span_fast_path_equals_stepping_every_bar(
    sample: ValidatedCandles, name: str
) -> None:
    window = sample.select("2023-06-01", "2024-01-01", warmup=60)
    fast = run(window, CONFIGS[name], fast=True)
    slow = run(window, CONFIGS[name], fast=False)
    assert len(fast.trades) > 20
    assert fast.events == slow.events
    assert fast.equity == slow.equity
    assert fast.metrics == slow.metrics
    assert fast.open_position == slow.open_position
    assert fast == slow


def test_fast_path_on_synthetic_demo_market() -> None:
    candles = load_candles("DEMO", "1h", "2024-01-01", "2024-07-01", warmup=40)
    assert candles.synthetic
    fast = run(candles, CONFIGS["managers"], fast=True)
    slow = run(candles, CONFIGS["managers"], fast=False)
    assert fast == slow
    assert fast.data.warmup_bars == 40
    assert fast.data.start == datetime(2024, 1, 1, tzinfo=UTC)
    assert any("synthetic" in warning for warning in fast.warnings)


def test_runs_are_deterministic(sample: ValidatedCandles) -> None:
    first = run(sample, CONFIGS["managers"])
    second = run(sample, CONFIGS["managers"])
    assert first == second
    assert first.data.fingerprint == sample.fingerprint()
    assert first.data.bars == 18_000


def test_open_position_at_end_is_marked_or_closed(sample: ValidatedCandles) -> None:
    window = sample.select("2023-01-01", "2023-01-20")
    kept = run(window, [], strategy="buy_and_hold")
    assert kept.trades == ()
    assert kept.open_position is not None
    last_close = float(window.frame["close"].iloc[-1])
    assert kept.open_position.mark_price == last_close
    position = kept.open_position.position
    assert kept.open_position.unrealized_pnl == pytest.approx(
        (last_close - position.entry_price) * position.quantity
    )
    closed = run(window, [], strategy="buy_and_hold", close_at_end=True)
    assert closed.open_position is None
    (trade,) = closed.trades
    assert trade.exit_reason == END_OF_DATA
    assert trade.exit_time == kept.data.end.replace() + (window.index[1] - window.index[0])
    assert closed.metrics.final_equity == pytest.approx(
        kept.metrics.final_equity - trade.legs[-1].fee - trade.legs[-1].slippage, rel=1e-9
    )


def test_empty_window_is_a_data_error(sample: ValidatedCandles) -> None:
    empty = sample.select("2030-01-01", "2030-02-01")
    with pytest.raises(DataError, match="no bars in the requested window"):
        run(empty, [])


def test_ambiguous_bars_report_the_policy_range(sample: ValidatedCandles) -> None:
    """Each ambiguous bar is valued under both extreme orders from the same state; the result
    reports the worse and the better sum, and the run's own choice lies in between."""
    managers = ["trailing=on", "partials=on", "risk.max_position=1.0"]
    pessimistic = run(sample, managers)
    optimistic = run(sample, [*managers, "fills.intrabar=optimistic"])
    assert pessimistic.ambiguity.bars == 4
    low, high = pessimistic.ambiguity.pessimistic_pnl, pessimistic.ambiguity.optimistic_pnl
    assert low < high
    # The first ambiguous bar is met from the same state by both runs, so the optimistic run's
    # range starts from the same pair of outcomes.
    assert optimistic.ambiguity.bars >= 1
    assert optimistic.ambiguity.pessimistic_pnl <= optimistic.ambiguity.optimistic_pnl
