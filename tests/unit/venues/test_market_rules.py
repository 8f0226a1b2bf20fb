"""The market's rules from ccxt's market data, and the refusal of a session that differs."""

from __future__ import annotations

import pytest

from atb.domain.errors import AtbError
from atb.domain.instruments import Instrument
from atb.venues.exchange.market_rules import check_rules, instrument_from_market

MARKET: dict[str, object] = {
    "id": "BTCUSDT",
    "base": "BTC",
    "quote": "USDT",
    "precision": {"amount": 1e-05, "price": 0.01},
    "limits": {"amount": {"min": 1e-05}, "cost": {"min": 5.0}},
}
RULES = Instrument("BTCUSDT", 0.01, 1e-5, 5.0, 1e-5, base_asset="BTC", quote_asset="USDT")


def test_ccxt_market_data_becomes_atbs_instrument() -> None:
    assert instrument_from_market(MARKET) == RULES


def test_the_same_rules_pass_and_a_different_one_is_named_with_both_values() -> None:
    check_rules(RULES, MARKET)
    with pytest.raises(
        AtbError, match=r"^BTCUSDT: lot step 0\.001 differs from the exchange's 1e-05;"
    ):
        check_rules(Instrument("BTCUSDT", 0.01, 1e-3, 5.0, 1e-5), MARKET)
    with pytest.raises(
        AtbError, match=r"^BTCUSDT: quote asset USDC differs from the exchange's USDT$"
    ):
        check_rules(Instrument("BTCUSDT", 0.01, 1e-5, 5.0, 1e-5, quote_asset="USDC"), MARKET)


def test_a_market_without_a_tick_size_is_refused() -> None:
    broken = {**MARKET, "precision": {"amount": 1e-05}}
    with pytest.raises(AtbError, match="lacks a rule atb needs"):
        instrument_from_market(broken)
