"""The assumptions page: generated from the config values, so specific sentences change with the
config; it reaches `report.html` and `result.json`; and `docs/assumptions.md` is never stale."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest

from atb.config import config_from_assignments, config_from_dict, config_to_dict
from atb.domain.events import OrderFilled
from atb.domain.fills import Fill, FillKind, Liquidity
from atb.domain.policies import PositionPolicies
from atb.domain.sides import OrderAction
from atb.managers.execution_config import IntrabarPolicy
from atb.managers.risk_config import TRAILING_DEFAULTS
from atb.managers.run_config import RunConfiguration
from atb.reporting.assumptions import (
    REGENERATE_COMMAND,
    TOPICS,
    Assumption,
    assumptions,
    render_assumptions_markdown,
    result_assumptions,
)
from atb.reporting.derived import clamped_fills
from atb.reporting.html_report import render_report
from atb.reporting.result_json import result_to_json
from atb.results import PolicyUse
from tests.support.result_builder import build_result

DOCS_PAGE = Path(__file__).resolve().parents[3] / "docs" / "assumptions.md"


def _config(*assignments: str) -> RunConfiguration:
    return config_from_assignments(assignments)


def _text(config: RunConfiguration, topic: str, *, timeframe: str | None = None) -> str:
    texts = [item.text for item in assumptions(config, timeframe=timeframe) if item.topic == topic]
    assert texts, f"no assumption under {topic!r}"
    return " ".join(texts)


# --- shape --------------------------------------------------------------------------------------


def test_every_topic_in_order_and_values_are_frozen() -> None:
    items = assumptions(RunConfiguration.default())
    assert all(isinstance(item, Assumption) for item in items)
    assert list(dict.fromkeys(item.topic for item in items)) == list(TOPICS)
    assert all(item.text.strip() and item.text.endswith(".") for item in items)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        items[0].text = "changed"  # type: ignore[misc]
    assert items[0].as_dict() == {"topic": items[0].topic, "text": items[0].text}


def test_same_config_same_text() -> None:
    config = _config("partials=on", "trailing=on", "time_exits.max_holding=2d")
    reloaded = config_from_dict(config_to_dict(config))
    assert assumptions(reloaded) == assumptions(config)
    assert render_assumptions_markdown(reloaded) == render_assumptions_markdown(config)


# --- the default configuration ------------------------------------------------------------------


def test_default_mentions_the_documented_numbers() -> None:
    config = RunConfiguration.default()
    market = _text(config, "Market orders")
    assert "open of the next bar" in market
    assert "0.05 % (5 bps)" in market
    assert "taker fee (0.1 % of notional)" in market
    assert "0.1 % as taker" in _text(config, "Fees")
    assert "0.1 % as maker" in _text(config, "Fees")
    sizing = _text(config, "Sizing")
    assert "capped at 10 % of equity" in sizing
    assert "`risk.max_exposure` 100 %" in sizing
    assert "`risk.max_leverage` 1×" in sizing
    assert "minimum notional is rejected" in sizing
    assert "reaches 20 %" in _text(config, "Max drawdown")
    assert "close-only" in _text(config, "Max drawdown")
    assert "`pessimistic`" in _text(config, "Intrabar path")
    assert "ambiguous" in _text(config, "Intrabar path")


def test_default_optional_sections() -> None:
    config = RunConfiguration.default()
    assert _text(config, "Trailing stop and breakeven").startswith("Off")
    assert _text(config, "Partial exits and scale-ins").startswith("Off")
    assert _text(config, "Time exits").startswith("Off")
    assert _text(config, "Detail timeframe").startswith("Off")
    dynamic = _text(config, "Dynamic risk")
    assert dynamic.startswith("On")
    for part in ("from 5 % new entries are sized ×0.8", "from 10 %", "×0.6", "from 15 %", "×0.4"):
        assert part in dynamic
    assert "regained 50 %" in dynamic
    assert "back to 2.5 %" in dynamic


def test_resting_levels_describe_stops_limits_and_gaps() -> None:
    text = _text(RunConfiguration.default(), "Resting levels")
    assert "stop-market" in text
    assert "moved 0.05 % against the trader" in text
    assert "limit orders: they fill at the level itself with no slippage" in text
    assert "maker fee (0.1 %)" in text
    assert "fills at the bar's open" in text


def test_not_modelled_is_spelled_out() -> None:
    text = _text(RunConfiguration.default(), "Not modelled")
    for part in (
        "Partial fills of our own orders",
        "Order-book depth and market impact",
        "Funding rates",
        "Latency",
        "Exchange outages",
        "minimum notional",
    ):
        assert part in text


# --- text follows the config --------------------------------------------------------------------


def test_fill_timing_close() -> None:
    market = _text(_config("fills.timing=close"), "Market orders")
    assert "close of the very bar that decided them" in market
    assert "next bar" not in market
    resting = _text(_config("fills.timing=close"), "Resting levels")
    assert "entered at a bar's close" in resting


def test_zero_slippage_and_zero_fees() -> None:
    config = _config("costs.slippage=0", "costs.maker_fee=0", "costs.taker_fee=0")
    market = _text(config, "Market orders")
    assert "no slippage" in market
    assert "bps" not in market
    assert "no fee" in market
    assert "without slippage" in _text(config, "Resting levels")
    assert "no fee as taker" in _text(config, "Fees")


def test_other_costs_are_formatted_exactly() -> None:
    config = _config("costs.slippage=0.00025", "costs.taker_fee=0.0004", "costs.maker_fee=0.0002")
    assert "0.025 % (2.5 bps)" in _text(config, "Market orders")
    assert "0.04 % as taker" in _text(config, "Fees")
    assert "0.02 % as maker" in _text(config, "Fees")


@pytest.mark.parametrize("policy", list(IntrabarPolicy))
def test_each_intrabar_policy_has_its_own_explanation(policy: IntrabarPolicy) -> None:
    text = _text(_config(f"fills.intrabar={policy.value}"), "Intrabar path")
    assert f"`{policy.value}`" in text
    others = [p for p in IntrabarPolicy if p is not policy]
    for other in others:
        assert text != _text(_config(f"fills.intrabar={other.value}"), "Intrabar path")
    assert "counted as ambiguous" in text


def test_detail_timeframe() -> None:
    text = _text(_config("fills.detail_timeframe=1m"), "Detail timeframe", timeframe="1h")
    assert "1m candles inside each 1h bar" in text
    assert "policy decides only inside a single 1m candle" in text
    optimistic = _config("fills.detail_timeframe=5m", "fills.intrabar=optimistic")
    assert "The `optimistic` policy decides only inside a single 5m candle" in _text(
        optimistic, "Detail timeframe"
    )


def test_risk_caps_and_no_drawdown_latch() -> None:
    config = _config("risk.max_position=0.25", "risk.max_leverage=2", "risk.max_drawdown=None")
    sizing = _text(config, "Sizing")
    assert "capped at 25 % of equity" in sizing
    assert "`risk.max_leverage` 2×" in sizing
    assert "total notional at 100 % of equity" in sizing
    drawdown = _text(config, "Max drawdown")
    assert drawdown.startswith("Off")
    assert "no close-only latch" in drawdown


def test_partials_off_and_on() -> None:
    assert _text(_config("partials=None"), "Partial exits and scale-ins").startswith("Off")
    config = _config("partials=on")
    text = _text(config, "Partial exits and scale-ins")
    assert "+3 %, +6 %, +10 % for 25 %, 25 %, 50 %" in text
    assert "+2 %, +5 % for 25 %, 25 %" in text
    assert "at most 2" in text
    # The entry cap shrinks so the fully scaled position fits the 10 % cap.
    assert "10 % / 1.5 = 6.67 % of equity" in _text(config, "Sizing")


def test_partials_without_scale_ins() -> None:
    config = _config("partials.max_scale_ins=0", "partials.exit_targets=[[0.05,1.0]]")
    text = _text(config, "Partial exits and scale-ins")
    assert "+5 % for 100 %" in text
    assert "no scale-ins" in text
    assert "fully scaled" not in _text(config, "Sizing")
    empty = _config("partials.exit_targets=[]")
    assert "No partial exits" in _text(empty, "Partial exits and scale-ins")


def test_trailing_variants() -> None:
    text = _text(_config("trailing=on"), "Trailing stop and breakeven")
    assert "favourable move of 2 % from entry" in text
    assert "entry ± 0.1 %" in text
    assert "after a favourable move of 1.5 % the stop trails 0.5 % behind the bar's close" in text
    atr = _text(
        _config("trailing.atr_multiple=2.5", "trailing.reference=extreme"),
        "Trailing stop and breakeven",
    )
    assert "ATR(14) × 2.5 behind the bar's favourable extreme" in atr
    no_breakeven = _text(
        _config("trailing.breakeven_trigger_pct=None"), "Trailing stop and breakeven"
    )
    assert no_breakeven.startswith("No breakeven step.")


def test_dynamic_risk_off_and_custom() -> None:
    assert _text(_config("dynamic_risk=None"), "Dynamic risk").startswith("Off")
    custom = _text(
        _config("dynamic_risk.tiers=[[0.08,0.5]]", "dynamic_risk.recovery_fraction=0.25"),
        "Dynamic risk",
    )
    assert "from 8 % new entries are sized ×0.5" in custom
    assert "regained 25 %" in custom
    assert "back to 6 %" in custom


def test_time_exits() -> None:
    assert "never fire" in _text(_config("time_exits=on"), "Time exits")
    text = _text(
        _config(
            "time_exits.max_holding=1d12h",
            "time_exits.weekend_flat=true",
            "time_exits.daily_flat_hour=7",
        ),
        "Time exits",
    )
    assert "held 1 day 12 hours is closed" in text
    assert "weekend" in text
    assert "07:00 UTC" in text
    assert "next open" in text
    close = _text(_config("time_exits.max_holding=90m", "fills.timing=close"), "Time exits")
    assert "1 hour 30 minutes" in close
    assert "that bar's close" in close


# --- markdown -----------------------------------------------------------------------------------


def test_markdown_page() -> None:
    page = render_assumptions_markdown(RunConfiguration.default(), timeframe="4h")
    assert page.startswith("# Backtest assumptions\n")
    assert page.endswith("\n")
    assert not page.endswith("\n\n")
    for topic in TOPICS:
        assert f"\n## {topic}\n" in page
    assert "on 4h bars" in page
    assert "closed 4h bars" in page
    assert REGENERATE_COMMAND in page
    assert "Settings: the defaults (`RunConfiguration.default()`)." in page


def test_markdown_lists_the_settings_that_differ_from_the_defaults() -> None:
    config = _config(
        "costs.slippage=0",
        "fills.timing=close",
        "partials=on",
        "partials.max_scale_ins=1",
        "dynamic_risk=None",
    )
    page = render_assumptions_markdown(config)
    assert (
        "Settings: the defaults except `costs.slippage=0.0`, `fills.timing=close`, "
        "`partials=on`, `partials.max_scale_ins=1`, `dynamic_risk=None`." in page
    )


def test_committed_docs_page_is_current() -> None:
    """`docs/assumptions.md` is the renderer's output for the defaults; regenerate it with
    `atb assumptions > docs/assumptions.md` when this fails."""
    assert DOCS_PAGE.read_text(encoding="utf-8") == render_assumptions_markdown(
        RunConfiguration.default()
    )


# --- in the run's outputs -----------------------------------------------------------------------


def test_result_assumptions_use_the_recorded_config_and_timeframe() -> None:
    config = _config("costs.slippage=0", "partials=None")
    result = attrs.evolve(build_result(), config=config_to_dict(config))
    expected = assumptions(config, timeframe=result.data.timeframe, clamped_fills=0)
    assert result_assumptions(result) == expected


def test_result_assumptions_describe_the_policies_that_acted() -> None:
    # The configuration leaves trailing off; the strategy's bundle switched it on for 3
    # positions, and 2 more ran without it.
    config = _config("costs.slippage=0")
    bundle_trailing = attrs.evolve(TRAILING_DEFAULTS, distance_pct=0.01)
    uses = (
        PolicyUse(policies=PositionPolicies(trailing=bundle_trailing), attached=3),
        PolicyUse(policies=PositionPolicies(), attached=2),
    )
    result = attrs.evolve(build_result(), config=config_to_dict(config), policies=uses)
    topics = {item.topic: item.text for item in result_assumptions(result)}
    text = topics["Trailing stop and breakeven"]
    assert text.startswith("For 3 positions (set by the strategy): Breakeven: after a favourable")
    assert "the stop trails 1 % behind the bar's close" in text
    assert "For 2 positions (as configured): Off:" in text
    # Sections no position changed read as configured.
    assert topics["Partial exits and scale-ins"] == "Off: positions are entered and exited whole."


def test_a_config_that_no_longer_loads_is_reported_not_raised() -> None:
    result = attrs.evolve(build_result(), config={"costs": {"bogus": 1}})
    (item,) = result_assumptions(result)
    assert item.topic == "Configuration"
    assert "costs.bogus" in item.text


def test_result_json_carries_the_assumptions_last() -> None:
    config = _config("fills.timing=close")
    result = attrs.evolve(build_result(), config=config_to_dict(config))
    document = json.loads(result_to_json(result))
    assert list(document)[-1] == "assumptions"
    clamped = clamped_fills(result)
    listed = assumptions(config, timeframe=result.data.timeframe, clamped_fills=clamped)
    expected = [item.as_dict() for item in listed]
    assert f"(in this run: {clamped} fill" in document["assumptions"][1]["text"]
    assert document["assumptions"] == expected


def test_report_html_has_an_assumptions_section() -> None:
    result = attrs.evolve(build_result(), config=config_to_dict(_config("partials=None")))
    page = render_report(result)
    assert '<h2 id="assumptions">Assumptions</h2>' in page
    section = page[page.index('<h2 id="assumptions">') : page.index("<footer>")]
    assert section.count("<li>") == len(result_assumptions(result))
    assert "<strong>Partial exits and scale-ins.</strong> Off" in section
    assert "0.05 % (5 bps)" in section


def test_assumption_text_is_escaped_in_html() -> None:
    page = render_report(build_result())
    section = page[page.index('<h2 id="assumptions">') : page.index("<footer>")]
    assert "fills at the bar&#x27;s open" in section
    assert "bar's open" not in section


def test_clamped_fills_are_the_taker_fills_the_bar_cut_short() -> None:
    config = _config("costs.slippage=0.01")
    time = datetime(2024, 1, 1, tzinfo=UTC)

    def fill(action: OrderAction, price: float, moved: float, liquidity: Liquidity) -> OrderFilled:
        leg = Fill(
            time=time, action=action, price=price, quantity=2.0, fee=0.0,
            slippage=moved * 2.0, reason="signal", kind=FillKind.ENTRY,
            liquidity=liquidity, order_id="bt-o1",
        )  # fmt: skip
        return OrderFilled(time, "bt-p1", leg)

    events = (
        fill(OrderAction.BUY, 101.0, 1.0, Liquidity.TAKER),  # the full 1 % of 100: not clamped
        fill(OrderAction.BUY, 100.4, 0.4, Liquidity.TAKER),  # capped at the bar's high
        fill(OrderAction.SELL, 99.5, 0.5, Liquidity.TAKER),  # capped at the bar's low
        fill(OrderAction.SELL, 100.0, 0.0, Liquidity.MAKER),  # a limit: no slippage by design
    )
    result = attrs.evolve(build_result(), config=config_to_dict(config), events=events)
    assert clamped_fills(result) == 2
    zero = attrs.evolve(result, config=config_to_dict(_config("costs.slippage=0")))
    assert clamped_fills(zero) == 0
