"""The flat user sections map onto the typed `RunConfiguration(costs, fills, risk)` and back."""

from __future__ import annotations

import json
import re

import pytest

from atb.config import config_from_assignments, config_from_dict, config_to_dict
from atb.config.sections import OPTIONAL_SECTIONS, SECTION_DEFAULTS, read_section, with_sections
from atb.domain.errors import ConfigError
from atb.managers.execution_config import COSTS_DEFAULTS, FILLS_DEFAULTS, FillTiming
from atb.managers.risk_config import (
    DYNAMIC_RISK_DEFAULTS,
    LIMITS_DEFAULTS,
    TRAILING_DEFAULTS,
    CorrelationAction,
    CorrelationPolicy,
    RiskConfiguration,
)
from atb.managers.run_config import RunConfiguration

DEFAULT = RunConfiguration.default()


def test_user_sections_keep_their_names_and_order() -> None:
    assert list(SECTION_DEFAULTS) == [
        "costs",
        "fills",
        "risk",
        "trailing",
        "partials",
        "dynamic_risk",
        "time_exits",
        "correlation",
    ]
    assert list(config_to_dict(DEFAULT)) == list(SECTION_DEFAULTS)
    assert set(SECTION_DEFAULTS) > OPTIONAL_SECTIONS


def test_the_default_run_configuration() -> None:
    assert (
        RunConfiguration(
            costs=COSTS_DEFAULTS, fills=FILLS_DEFAULTS, risk=RiskConfiguration.default()
        )
        == DEFAULT
    )
    assert DEFAULT.risk == RiskConfiguration(
        limits=LIMITS_DEFAULTS, dynamic_risk=DYNAMIC_RISK_DEFAULTS
    )


def test_read_section_finds_each_user_section_in_the_tree() -> None:
    assert read_section(DEFAULT, "costs") is DEFAULT.costs
    assert read_section(DEFAULT, "fills") is DEFAULT.fills
    assert read_section(DEFAULT, "risk") is DEFAULT.risk.limits
    assert read_section(DEFAULT, "dynamic_risk") is DEFAULT.risk.dynamic_risk
    assert read_section(DEFAULT, "trailing") is None


def test_with_sections_replaces_only_what_it_is_given() -> None:
    assert with_sections(DEFAULT, {}) is DEFAULT
    changed = with_sections(DEFAULT, {"trailing": TRAILING_DEFAULTS, "dynamic_risk": None})
    assert changed.risk.trailing == TRAILING_DEFAULTS
    assert changed.risk.dynamic_risk is None
    assert (changed.costs, changed.fills, changed.risk.limits) == (
        DEFAULT.costs,
        DEFAULT.fills,
        DEFAULT.risk.limits,
    )


def test_user_keys_reach_the_typed_paths() -> None:
    config = config_from_assignments(
        ["fills.timing=close", "costs.slippage=0", "risk.max_position=0.5", "trailing=on"]
    )
    assert config.fills.timing is FillTiming.CLOSE
    assert config.costs.slippage == 0.0
    assert config.risk.limits.max_position == 0.5
    assert config.risk.trailing == TRAILING_DEFAULTS


def test_the_stored_dict_is_flat_and_reloads() -> None:
    config = config_from_assignments(["risk.max_drawdown=None", "partials=on"])
    stored = json.loads(json.dumps(config_to_dict(config)))
    assert stored["risk"] == {
        "max_position": 0.1,
        "max_exposure": 1.0,
        "max_leverage": 1.0,
        "max_drawdown": None,
        "max_positions": None,
    }
    assert stored["costs"] == {"taker_fee": 0.001, "maker_fee": 0.001, "slippage": 0.0005}
    assert config_from_dict(stored) == config


def test_portfolio_keys_parse_and_check() -> None:
    config = config_from_assignments(
        ["risk.max_positions=3", "correlation.threshold=0.8", "correlation.action=refuse"]
    )
    assert config.risk.limits.max_positions == 3
    assert config.risk.correlation == CorrelationPolicy(
        threshold=0.8, lookback=100, action=CorrelationAction.REFUSE, reduce_to=0.5
    )
    assert config_from_dict(json.loads(json.dumps(config_to_dict(config)))) == config
    assert DEFAULT.risk.correlation is None
    assert DEFAULT.risk.limits.max_positions is None


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("risk.max_positions=0", "risk.max_positions: must be an integer >= 1 or None, got 0"),
        ("correlation.lookback=2", "correlation.lookback: must be an integer >= 3 (bars), got 2"),
        ("correlation.threshold=1.5", "correlation.threshold"),
        ("correlation.action=hedge", "correlation.action"),
    ],
)
def test_bad_portfolio_keys_are_refused_by_name(assignment: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        config_from_assignments([assignment])
