"""Fill quality from stored pairs: deviations against the trader, fee differences, market-order
delays, unpaired fills, and the slippage that would make the model match reality."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from atb.engines.fill_quality import Distribution, fill_quality
from atb.managers.order_journal import FillPair

T0 = datetime(2025, 2, 4, 13, tzinfo=UTC)


def _pair(
    slot: str,
    side: str,
    liquidity: str,
    real: float,
    simulated: float | None,
    *,
    delay_s: float = 0,
) -> FillPair:
    return FillPair(
        bar_time=T0,
        client_id="c",
        slot=slot,
        side=side,
        liquidity=liquidity,
        real_price=real,
        real_quantity=0.01,
        real_fee=0.5,
        real_time=T0 + timedelta(seconds=delay_s),
        simulated_price=simulated,
        simulated_quantity=None if simulated is None else 0.01,
        simulated_fee=None if simulated is None else 0.4,
    )


def test_deviations_are_measured_against_the_trader_and_slippage_suggested_from_takers() -> None:
    pairs = [
        _pair("market:o1", "buy", "taker", 100.2, 100.0, delay_s=2.0),  # 20 bps worse
        _pair("market:o2", "sell", "taker", 99.9, 100.0, delay_s=4.0),  # 10 bps worse
        _pair("stop loss:0", "sell", "taker", 100.1, 100.0),  # 10 bps better
        _pair("partial exit:0", "sell", "maker", 100.0, 100.0),
        _pair("scale-in:0", "buy", "taker", 101.0, None),  # the model would not have filled
    ]
    quality = fill_quality(pairs, configured_slippage=0.0005)
    assert (quality.paired, quality.unpaired) == (4, 1)
    assert quality.price_bps is not None
    assert quality.price_bps.median == pytest.approx(5.0)
    assert (quality.price_bps.low, quality.price_bps.high) == pytest.approx((-10.0, 20.0))
    assert quality.delay_s == Distribution(2, 3.0, 4.0, 2.0, 4.0)
    assert quality.fee is not None
    assert quality.fee.median == pytest.approx(0.1)
    # Takers: +20, +10, −10 bps → median +10 bps on top of the configured 5 bps.
    assert quality.suggested_slippage == pytest.approx(0.0015)
    assert quality.as_dict()["unpaired_fills"] == 1


def test_no_pairs_no_figures() -> None:
    quality = fill_quality([], configured_slippage=0.0005)
    assert (quality.paired, quality.price_bps, quality.suggested_slippage) == (0, None, None)
