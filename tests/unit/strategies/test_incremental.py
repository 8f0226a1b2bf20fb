"""The live fast path: `features_now` must equal the last row of `features`, and the bias check
proves it (or names the bar where it does not)."""

from __future__ import annotations

import attrs
import numpy as np
import pandas as pd

from atb.data.loading import load_candles
from atb.domain.bars import Bar
from atb.strategies import DefinedStrategy, check_strategy
from atb.strategies.recent_bars import RecentBars
from atb.strategies.sma_cross import SmaCross


def _frame() -> pd.DataFrame:
    return load_candles("DEMO", "1h", "2025-01-01", "2025-03-01", allow_network=False).frame


def test_sma_cross_features_now_equals_the_last_row_bit_for_bit() -> None:
    frame = _frame()
    strategy = SmaCross(fast=5, slow=20)
    features = strategy.features(frame)
    columns = {name: frame[name].to_numpy(dtype=np.float64) for name in frame.columns}
    for end in (20, 100, 500, len(frame) - 1):
        recent = RecentBars.of_frame_rows(columns, end, frame.index[end].to_pydatetime())
        now = strategy.features_now(recent)
        for name in features.columns:
            assert float(now[name]) == float(features[name].iloc[end]), (name, end)


def test_prepare_recent_decides_like_the_frame() -> None:
    frame = _frame()
    bullish = SmaCross(fast=5, slow=20).features(frame)["cross"].to_numpy() > 0
    end = int(np.flatnonzero(bullish)[3])
    on_frame = DefinedStrategy(SmaCross(fast=5, slow=20))
    on_frame.prepare(frame.iloc[: end + 1])
    incremental = DefinedStrategy(SmaCross(fast=5, slow=20))
    columns = {name: frame[name].to_numpy(dtype=np.float64) for name in frame.columns}
    time = frame.index[end].to_pydatetime()
    assert incremental.prepare_recent(RecentBars.of_frame_rows(columns, end, time)) is not None
    bar = Bar(time, *(float(frame[c].iloc[end]) for c in ("open", "high", "low", "close")))
    assert incremental.decide(end, bar, None) == on_frame.decide(end, bar, None)
    assert incremental.decide(end, bar, None).is_entry


@attrs.frozen
class _OffByOne(SmaCross):
    """A features_now that reads one bar too early — the bias check must catch it."""

    def features_now(self, bars: RecentBars) -> dict[str, float]:
        shifted = attrs.evolve(bars, close=bars.close[:-1])
        return super().features_now(shifted)


def test_the_bias_check_catches_a_features_now_that_disagrees() -> None:
    report = check_strategy(lambda: DefinedStrategy(_OffByOne(fast=5, slow=20)), _frame())
    assert not report.passed
    first = report.findings[0]
    assert first.kind == "incremental"
    assert first.feature in {"feature 'fast_sma'", "feature 'slow_sma'"}


def test_the_bias_check_counts_the_incremental_bars() -> None:
    report = check_strategy(
        lambda: DefinedStrategy(SmaCross(fast=5, slow=20)), _frame(), rtol=0.0, atol=0.0
    )
    assert report.passed, report.summary()
    assert report.incremental_checked >= 40
    assert "features_now on" in report.summary()
