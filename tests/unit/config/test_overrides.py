"""`RunConfiguration` overrides: merge semantics, `--set` parsing, TOML, dumping and errors."""

from __future__ import annotations

import json
import math
from datetime import timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from atb.config import (
    config_from_assignments,
    config_from_dict,
    config_from_toml,
    config_to_dict,
    format_duration,
    load_toml_overrides,
    merge_overrides,
    parse_assignments,
    parse_duration,
)
from atb.config.sections import OPTIONAL_SECTIONS, SECTION_DEFAULTS, read_section
from atb.config.suggestions import did_you_mean
from atb.domain.errors import ConfigError, keyed_message
from atb.domain.policies import PartialPolicy, TimeExitPolicy, TrailingPolicy, TrailReference
from atb.managers.execution_config import CostConfig, FillConfig, FillTiming, IntrabarPolicy
from atb.managers.risk_config import (
    PARTIALS_DEFAULTS,
    TRAILING_DEFAULTS,
    DynamicRiskConfig,
    RiskLimits,
)
from atb.managers.run_config import RunConfiguration

DEFAULT = RunConfiguration.default()


def _error(overrides: dict[str, object], base: RunConfiguration = DEFAULT) -> str:
    with pytest.raises(ConfigError) as info:
        merge_overrides(base, overrides)
    return str(info.value)


# --- defaults (DESIGN §4) ----------------------------------------------------------------------


def test_defaults_match_design() -> None:
    assert DEFAULT.costs == CostConfig(taker_fee=0.001, maker_fee=0.001, slippage=0.0005)
    assert DEFAULT.fills == FillConfig(
        timing=FillTiming.NEXT_OPEN, intrabar=IntrabarPolicy.PESSIMISTIC, detail_timeframe=None
    )
    assert DEFAULT.risk.limits == RiskLimits(
        max_position=0.10, max_exposure=1.0, max_leverage=1.0, max_drawdown=0.20
    )
    assert DEFAULT.risk.trailing is None
    assert DEFAULT.risk.partials is None
    assert DEFAULT.risk.time_exits is None
    assert DEFAULT.risk.dynamic_risk == DynamicRiskConfig(
        tiers=((0.05, 0.8), (0.10, 0.6), (0.15, 0.4)), recovery_fraction=0.5
    )


def test_enabled_section_defaults_match_design() -> None:
    trailing = merge_overrides(DEFAULT, {"trailing": "on"}).risk.trailing
    assert trailing is not None
    assert (trailing.activation_pct, trailing.distance_pct) == (0.015, 0.005)
    assert (trailing.breakeven_trigger_pct, trailing.breakeven_buffer_pct) == (0.02, 0.001)
    assert trailing.reference is TrailReference.CLOSE
    assert trailing.atr_multiple is None
    partials = merge_overrides(DEFAULT, {"partials": "on"}).risk.partials
    assert partials == PartialPolicy(
        exit_targets=((0.03, 0.25), (0.06, 0.25), (0.10, 0.50)),
        scale_in_thresholds=((0.02, 0.25), (0.05, 0.25)),
        max_scale_ins=2,
    )
    time_exits = merge_overrides(DEFAULT, {"time_exits": "on"}).risk.time_exits
    assert time_exits == TimeExitPolicy(max_holding=None, weekend_flat=False, daily_flat_hour=None)


# --- key presence: absent inherits, None disables ---------------------------------------------


def test_empty_overrides_return_an_equal_config() -> None:
    assert merge_overrides(DEFAULT, {}) == DEFAULT


def test_dotted_and_nested_keys_are_equivalent() -> None:
    dotted = merge_overrides(DEFAULT, {"costs.slippage": 0, "risk.max_position": 0.5})
    nested = merge_overrides(DEFAULT, {"costs": {"slippage": 0}, "risk": {"max_position": 0.5}})
    assert dotted == nested
    assert dotted.costs == CostConfig(taker_fee=0.001, maker_fee=0.001, slippage=0.0)
    assert dotted.risk.limits.max_position == 0.5
    assert dotted.risk.limits.max_exposure == 1.0
    assert dotted.fills == DEFAULT.fills


def test_ints_become_floats() -> None:
    merged = merge_overrides(DEFAULT, {"costs.slippage": 0, "risk.max_leverage": 3})
    assert isinstance(merged.costs.slippage, float)
    assert isinstance(merged.risk.limits.max_leverage, float)
    assert merged.risk.limits.max_leverage == 3.0


def test_none_disables_an_optional_section() -> None:
    on = merge_overrides(DEFAULT, {"partials": "on", "trailing": True})
    off = merge_overrides(on, {"partials": None})
    assert off.risk.partials is None
    assert off.risk.trailing == TRAILING_DEFAULTS
    assert merge_overrides(DEFAULT, {"dynamic_risk": None}).risk.dynamic_risk is None


@pytest.mark.parametrize("off", [None, False, "off", "OFF"])
def test_section_switch_off_spellings(off: object) -> None:
    assert merge_overrides(DEFAULT, {"dynamic_risk": off}).risk.dynamic_risk is None


@pytest.mark.parametrize("on", [True, "on", "default", "Default"])
def test_section_switch_on_spellings(on: object) -> None:
    assert merge_overrides(DEFAULT, {"trailing": on}).risk.trailing == TRAILING_DEFAULTS


def test_switching_on_a_section_that_is_on_keeps_it() -> None:
    custom = merge_overrides(DEFAULT, {"trailing.distance_pct": 0.02})
    assert merge_overrides(custom, {"trailing": "on"}) == custom
    assert merge_overrides(custom, {"trailing": "default"}) == custom


def test_a_key_in_a_section_that_is_off_enables_it_from_defaults() -> None:
    merged = merge_overrides(DEFAULT, {"trailing.distance_pct": 0.01})
    assert merged.risk.trailing == attrs.evolve(TRAILING_DEFAULTS, distance_pct=0.01)
    assert merged.risk.partials is None


def test_a_key_in_a_section_that_is_on_keeps_its_other_values() -> None:
    custom = merge_overrides(DEFAULT, {"trailing.distance_pct": 0.01})
    merged = merge_overrides(custom, {"trailing.activation_pct": 0.03})
    assert merged.risk.trailing is not None
    assert (merged.risk.trailing.distance_pct, merged.risk.trailing.activation_pct) == (0.01, 0.03)


def test_an_empty_table_enables_a_section() -> None:
    assert merge_overrides(DEFAULT, {"partials": {}}).risk.partials == PARTIALS_DEFAULTS


def test_enabled_key_switches_a_section() -> None:
    assert (
        merge_overrides(DEFAULT, {"trailing": {"enabled": True}}).risk.trailing == TRAILING_DEFAULTS
    )
    assert merge_overrides(DEFAULT, {"dynamic_risk.enabled": False}).risk.dynamic_risk is None
    merged = merge_overrides(DEFAULT, {"trailing": {"enabled": True, "distance_pct": 0.02}})
    assert merged.risk.trailing == attrs.evolve(TRAILING_DEFAULTS, distance_pct=0.02)


@pytest.mark.parametrize(
    ("key", "section"),
    [
        ("risk.max_drawdown", "risk"),
        ("trailing.breakeven_trigger_pct", "trailing"),
        ("trailing.atr_multiple", "trailing"),
        ("time_exits.max_holding", "time_exits"),
        ("fills.detail_timeframe", "fills"),
    ],
)
def test_none_on_an_optional_key_sets_it_to_none(key: str, section: str) -> None:
    base = merge_overrides(
        DEFAULT,
        {
            "trailing.atr_multiple": 2.5,
            "time_exits.max_holding": "48h",
            "fills.detail_timeframe": "1m",
        },
    )
    merged = merge_overrides(base, {key: None})
    assert getattr(read_section(merged, section), key.split(".")[1]) is None
    others = [name for name in SECTION_DEFAULTS if name != section]
    assert all(read_section(merged, name) == read_section(base, name) for name in others)


def test_false_on_an_optional_key_sets_it_to_none_for_toml() -> None:
    assert (
        merge_overrides(DEFAULT, {"risk": {"max_drawdown": False}}).risk.limits.max_drawdown is None
    )


# --- value coercion ---------------------------------------------------------------------------


def test_enums_from_their_values() -> None:
    merged = merge_overrides(
        DEFAULT,
        {"fills.timing": "close", "fills.intrabar": "optimistic", "trailing.reference": "extreme"},
    )
    assert merged.fills.timing is FillTiming.CLOSE
    assert merged.fills.intrabar is IntrabarPolicy.OPTIMISTIC
    assert merged.risk.trailing is not None
    assert merged.risk.trailing.reference is TrailReference.EXTREME
    upper = merge_overrides(DEFAULT, {"fills.intrabar": "Nearest-Extreme"})
    assert upper.fills.intrabar is IntrabarPolicy.NEAREST_EXTREME
    same = merge_overrides(DEFAULT, {"fills.intrabar": IntrabarPolicy.CANDLE_DIRECTION})
    assert same.fills.intrabar is IntrabarPolicy.CANDLE_DIRECTION


def test_ladders_from_lists_of_pairs() -> None:
    merged = merge_overrides(
        DEFAULT,
        {
            "partials.exit_targets": [[0.03, 0.25], [0.06, 0.75]],
            "partials.scale_in_thresholds": [],
            "dynamic_risk.tiers": [[0.1, 0.5], [0.2, 0.25]],
        },
    )
    assert merged.risk.partials is not None
    assert merged.risk.partials.exit_targets == ((0.03, 0.25), (0.06, 0.75))
    assert merged.risk.partials.scale_in_thresholds == ()
    assert merged.risk.partials.max_scale_ins == 2
    assert merged.risk.dynamic_risk is not None
    assert merged.risk.dynamic_risk.tiers == ((0.1, 0.5), (0.2, 0.25))
    assert all(isinstance(x, float) for rung in merged.risk.dynamic_risk.tiers for x in rung)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (48, timedelta(hours=48)),
        (1.5, timedelta(minutes=90)),
        ("48h", timedelta(hours=48)),
        ("2d", timedelta(days=2)),
        ("90m", timedelta(minutes=90)),
        ("1d12h", timedelta(hours=36)),
        ("1w", timedelta(weeks=1)),
        ("30s", timedelta(seconds=30)),
        ("12", timedelta(hours=12)),
        ("PT36H", timedelta(hours=36)),
        ("P2DT30M", timedelta(days=2, minutes=30)),
        (timedelta(hours=5), timedelta(hours=5)),
    ],
)
def test_max_holding_durations(value: object, expected: timedelta) -> None:
    merged = merge_overrides(DEFAULT, {"time_exits.max_holding": value})
    assert merged.risk.time_exits is not None
    assert merged.risk.time_exits.max_holding == expected


def test_integral_floats_become_ints() -> None:
    merged = merge_overrides(DEFAULT, {"partials.max_scale_ins": 1.0, "time_exits": {}})
    assert merged.risk.partials is not None
    assert merged.risk.partials.max_scale_ins == 1
    assert isinstance(merged.risk.partials.max_scale_ins, int)


# --- errors name the dotted key and the value ---------------------------------------------------


def test_negative_value() -> None:
    assert _error({"costs.slippage": -1}) == "costs.slippage: must be finite and >= 0, got -1.0"


def test_non_finite_value() -> None:
    assert _error({"costs.taker_fee": math.nan}) == (
        "costs.taker_fee: must be finite and >= 0, got nan"
    )


def test_unknown_section() -> None:
    message = _error({"cost.slippage": 0})
    assert message.startswith("cost.slippage: unknown section 'cost', got 0")
    assert "did you mean 'costs'?" in message


def test_unknown_key() -> None:
    message = _error({"costs.slipage": 0.1})
    assert message.startswith("costs.slipage: unknown key, got 0.1")
    assert "valid keys: taker_fee, maker_fee, slippage" in message
    assert "did you mean 'slippage'?" in message


def test_unknown_nested_key() -> None:
    assert _error({"trailing": {"distance": 0.01}}).startswith(
        "trailing.distance: unknown key, got 0.01"
    )
    assert _error({"costs.slippage.max": 0}) == (
        "costs.slippage.max: unknown key (keys are section.key), got 0"
    )


def test_bad_enum_name_lists_the_valid_names() -> None:
    assert _error({"fills.intrabar": "random"}) == (
        "fills.intrabar: unknown value (valid: pessimistic, optimistic, nearest_extreme, "
        "candle_direction), got 'random'"
    )
    assert _error({"fills.timing": "open"}) == (
        "fills.timing: unknown value (valid: next_open, close), got 'open'"
    )


def test_fraction_above_one() -> None:
    assert _error({"risk.max_drawdown": 1.5}) == "risk.max_drawdown: must be in (0, 1], got 1.5"
    assert _error({"dynamic_risk.recovery_fraction": 2}) == (
        "dynamic_risk.recovery_fraction: must be in (0, 1], got 2.0"
    )


def test_ladder_errors_name_the_rung() -> None:
    assert _error({"partials.exit_targets": [[0.03, 1.25]]}) == (
        "partials.exit_targets[0].size: must be in (0, 1], got 1.25"
    )
    assert _error({"partials.exit_targets": [[0.03]]}) == (
        "partials.exit_targets[0]: must be a list of 2 items, got [0.03]"
    )
    assert _error({"partials.exit_targets": [[0.06, 0.5], [0.03, 0.5]]}).startswith(
        "partials.exit_targets: moves must strictly increase"
    )
    assert _error({"dynamic_risk.tiers": [[0.05, "x"]]}) == (
        "dynamic_risk.tiers[0][1]: must be a number, got 'x'"
    )
    assert _error({"partials.exit_targets": "0.03"}) == (
        "partials.exit_targets: must be a list, got '0.03'"
    )


def test_wrong_types() -> None:
    assert _error({"costs.slippage": "cheap"}) == "costs.slippage: must be a number, got 'cheap'"
    assert _error({"costs.slippage": True}) == "costs.slippage: must be a number, got True"
    assert _error({"partials.max_scale_ins": 1.5}) == (
        "partials.max_scale_ins: must be an integer, got 1.5"
    )
    assert _error({"time_exits.weekend_flat": "yes"}) == (
        "time_exits.weekend_flat: must be true or false, got 'yes'"
    )
    assert _error({"costs.slippage": {"x": 1}}) == (
        "costs.slippage: must be a number, got {'x': 1}"
    )


def test_attrs_range_validator_is_rekeyed() -> None:
    assert _error({"time_exits.daily_flat_hour": 25}) == (
        "time_exits.daily_flat_hour: must be in range(0, 24) (got 25)"
    )


def test_config_layer_range_checks() -> None:
    assert _error({"fills.detail_timeframe": "1 hour"}).startswith(
        "fills.detail_timeframe: must be a timeframe"
    )
    assert _error({"trailing.atr_period": 0}) == (
        "trailing.atr_period: must be an integer from 1 to 1000 (bars of history the engines "
        "keep), got 0"
    )
    assert merge_overrides(DEFAULT, {"fills.detail_timeframe": "5m"}).fills.detail_timeframe == "5m"


@pytest.mark.parametrize("value", ["-3h", "0", 0, -1, "soon", "P", "PT", math.inf, True])
def test_bad_durations(value: object) -> None:
    assert _error({"time_exits.max_holding": value}).startswith(
        "time_exits.max_holding: must be a positive duration"
    )


def test_none_on_a_required_key() -> None:
    assert _error({"trailing.distance_pct": None}).startswith(
        "trailing.distance_pct: cannot be None"
    )


@pytest.mark.parametrize("section", ["costs", "fills", "risk"])
def test_required_sections_cannot_be_switched_off(section: str) -> None:
    assert _error({section: None}).startswith(
        f"{section}: section {section} cannot be switched off"
    )
    assert merge_overrides(DEFAULT, {section: "on"}) == DEFAULT


def test_bad_section_value() -> None:
    assert _error({"trailing": 3}).startswith("trailing: expected a table of keys")
    assert _error({"trailing.enabled": "no"}) == (
        "trailing.enabled: must be true or false, got 'no'"
    )


def test_conflicting_and_duplicate_keys() -> None:
    assert _error({"partials": None, "partials.max_scale_ins": 3}) == (
        "partials: switches partials off but partials.max_scale_ins is also set, got None"
    )
    assert _error({"costs": {"slippage": 0}, "costs.slippage": 1}) == (
        "costs.slippage: given more than once, got 1"
    )
    assert _error({"trailing": None, "trailing.enabled": True}) == (
        "trailing.enabled: conflicts with trailing, got True"
    )


def test_malformed_keys() -> None:
    assert _error({"costs..slippage": 0}) == "costs..slippage: malformed key (empty part), got 0"
    with pytest.raises(ConfigError, match="keys must be strings"):
        merge_overrides(DEFAULT, {1: 0})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="must be a mapping"):
        merge_overrides(DEFAULT, [("costs.slippage", 0)])  # type: ignore[arg-type]


def test_errors_are_config_errors_and_value_errors() -> None:
    with pytest.raises(ValueError, match=r"^costs\.maker_fee: "):
        merge_overrides(DEFAULT, {"costs.maker_fee": -0.1})


# --- immutability and Hypothesis --------------------------------------------------------------


def test_merge_never_mutates_the_input() -> None:
    base = merge_overrides(DEFAULT, {"partials": "on", "trailing": "on"})
    snapshot = config_to_dict(base)
    merged = merge_overrides(
        base,
        {"partials.exit_targets": [[0.01, 1.0]], "trailing": None, "costs.slippage": 0},
    )
    assert config_to_dict(base) == snapshot
    assert merged != base
    assert base.risk.trailing == TRAILING_DEFAULTS


fees = st.floats(min_value=0.0, max_value=0.05, allow_nan=False, allow_infinity=False)


@given(taker=fees, maker=fees, slippage=fees | st.integers(min_value=0, max_value=1))
def test_valid_costs_merge_exactly_and_touch_nothing_else(
    taker: float, maker: float, slippage: float
) -> None:
    merged = merge_overrides(
        DEFAULT, {"costs.taker_fee": taker, "costs": {"maker_fee": maker, "slippage": slippage}}
    )
    assert merged.costs == CostConfig(taker_fee=taker, maker_fee=maker, slippage=float(slippage))
    before, after = config_to_dict(DEFAULT), config_to_dict(merged)
    assert {k: v for k, v in after.items() if k != "costs"} == {
        k: v for k, v in before.items() if k != "costs"
    }
    assert DEFAULT.costs == CostConfig(taker_fee=0.001, maker_fee=0.001, slippage=0.0005)


@given(st.floats(max_value=-1e-12) | st.just(math.nan) | st.just(math.inf))
def test_invalid_slippage_is_always_named(value: float) -> None:
    message = _error({"costs.slippage": value})
    assert message == f"costs.slippage: must be finite and >= 0, got {value!r}"


@given(st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=10_000)))
def test_durations_round_trip(value: timedelta) -> None:
    assert parse_duration(format_duration(value)) == value


def test_format_duration() -> None:
    assert format_duration(timedelta(days=2, hours=3)) == "P2DT3H"
    assert format_duration(timedelta(minutes=90)) == "PT1H30M"
    assert format_duration(timedelta(seconds=0.5)) == "PT0.5S"
    assert format_duration(timedelta(0)) == "PT0S"
    assert format_duration(timedelta(hours=-1)) == "-PT1H"


# --- dumping and reloading --------------------------------------------------------------------


def _everything_on() -> RunConfiguration:
    return merge_overrides(
        DEFAULT,
        {
            "costs": {"taker_fee": 0.0004, "maker_fee": 0.0002, "slippage": 0.001},
            "fills": {"timing": "close", "intrabar": "candle_direction", "detail_timeframe": "1m"},
            "risk": {"max_position": 0.5, "max_drawdown": None},
            "trailing": {"atr_multiple": 3, "reference": "extreme", "breakeven_trigger_pct": None},
            "partials": {"exit_targets": [[0.05, 0.5], [0.1, 1.0]], "max_scale_ins": 1},
            "time_exits": {"max_holding": "1d12h30m", "weekend_flat": True, "daily_flat_hour": 23},
        },
    )


def test_config_to_dict_is_json_ready_and_ordered() -> None:
    dumped = config_to_dict(_everything_on())
    assert list(dumped) == [
        "costs",
        "fills",
        "risk",
        "trailing",
        "partials",
        "dynamic_risk",
        "time_exits",
        "correlation",
    ]
    assert dumped["fills"] == {
        "timing": "close",
        "intrabar": "candle_direction",
        "detail_timeframe": "1m",
    }
    assert dumped["partials"] == {
        "exit_targets": [[0.05, 0.5], [0.1, 1.0]],
        "scale_in_thresholds": [[0.02, 0.25], [0.05, 0.25]],
        "max_scale_ins": 1,
    }
    assert dumped["time_exits"] == {
        "max_holding": "P1DT12H30M",
        "weekend_flat": True,
        "daily_flat_hour": 23,
    }
    assert config_to_dict(DEFAULT)["trailing"] is None
    text = json.dumps(dumped)
    assert json.loads(text) == dumped


@pytest.mark.parametrize(
    "config",
    [
        DEFAULT,
        _everything_on(),
        merge_overrides(DEFAULT, {"dynamic_risk": None, "partials": "on"}),
    ],
)
def test_config_to_dict_round_trips(config: RunConfiguration) -> None:
    reloaded = json.loads(json.dumps(config_to_dict(config)))
    assert merge_overrides(DEFAULT, reloaded) == config
    assert merge_overrides(_everything_on(), reloaded) == config
    assert config_from_dict(reloaded) == config


# --- parse_assignments ------------------------------------------------------------------------


def test_parse_assignments_values() -> None:
    parsed = parse_assignments(
        [
            "partials=None",
            "trailing=none",
            "dynamic_risk=null",
            "time_exits.weekend_flat=true",
            "risk.max_drawdown=False",
            "costs.slippage=0",
            "costs.taker_fee=1e-3",
            "costs.maker_fee=.0002",
            "partials.exit_targets=[[0.03,0.25],[0.06,0.75]]",
            "time_exits.max_holding=48h",
            "fills.timing = close",
            'fills.detail_timeframe="1m"',
        ]
    )
    assert parsed == {
        "partials": None,
        "trailing": None,
        "dynamic_risk": None,
        "time_exits.weekend_flat": True,
        "risk.max_drawdown": False,
        "costs.slippage": 0,
        "costs.taker_fee": 0.001,
        "costs.maker_fee": 0.0002,
        "partials.exit_targets": [[0.03, 0.25], [0.06, 0.75]],
        "time_exits.max_holding": "48h",
        "fills.timing": "close",
        "fills.detail_timeframe": "1m",
    }
    assert isinstance(parsed["costs.slippage"], int)


def test_parse_assignments_later_key_wins() -> None:
    assert parse_assignments(["costs.slippage=0", "costs.slippage=0.1"]) == {"costs.slippage": 0.1}


@pytest.mark.parametrize("assignment", ["costs.slippage", "=0", "  =1", ""])
def test_malformed_assignment(assignment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_assignments([assignment])
    assert str(info.value) == (
        f"malformed assignment {assignment!r}: expected key=value (e.g. costs.slippage=0)"
    )


def test_malformed_array_value() -> None:
    with pytest.raises(ConfigError, match=r"malformed value in assignment 'partials.exit_targets="):
        parse_assignments(["partials.exit_targets=[[0.03,0.25"])


def test_from_assignments_end_to_end() -> None:
    config = config_from_assignments(
        ["costs.slippage=0", "partials=None", "trailing.distance_pct=0.01", "fills.timing=close"]
    )
    assert config.costs.slippage == 0.0
    assert config.risk.partials is None
    assert config.risk.trailing == attrs.evolve(TRAILING_DEFAULTS, distance_pct=0.01)
    assert config.fills.timing is FillTiming.CLOSE
    off = config_from_assignments(["partials=None"], base=_everything_on())
    assert off.risk.partials is None
    assert off.risk.trailing == _everything_on().risk.trailing


# --- TOML -------------------------------------------------------------------------------------

TOML = """\
dynamic_risk = false

[costs]
slippage = 0
taker_fee = 0.0004

[fills]
timing = "close"
intrabar = "optimistic"

[risk]
max_position = 0.25
max_drawdown = false

[trailing]
distance_pct = 0.01
reference = "extreme"

[partials]
exit_targets = [[0.03, 0.25], [0.06, 0.75]]

[time_exits]
max_holding = "2d"
weekend_flat = true
"""


def test_toml_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "risk.toml"
    path.write_text(TOML, encoding="utf-8")
    config = config_from_toml(path)
    assert config.costs == CostConfig(taker_fee=0.0004, maker_fee=0.001, slippage=0.0)
    assert config.fills.timing is FillTiming.CLOSE
    assert config.fills.intrabar is IntrabarPolicy.OPTIMISTIC
    assert config.risk.limits.max_position == 0.25
    assert config.risk.limits.max_drawdown is None
    assert config.risk.dynamic_risk is None
    assert config.risk.trailing == attrs.evolve(
        TRAILING_DEFAULTS, distance_pct=0.01, reference=TrailReference.EXTREME
    )
    assert config.risk.partials == attrs.evolve(
        PARTIALS_DEFAULTS, exit_targets=((0.03, 0.25), (0.06, 0.75))
    )
    assert config.risk.time_exits == TimeExitPolicy(
        max_holding=timedelta(days=2), weekend_flat=True, daily_flat_hour=None
    )
    assert load_toml_overrides(path)["dynamic_risk"] is False


def test_toml_enabled_false_disables_a_section(tmp_path: Path) -> None:
    path = tmp_path / "off.toml"
    path.write_text("[dynamic_risk]\nenabled = false\n\n[trailing]\nenabled = true\n")
    config = config_from_toml(path)
    assert config.risk.dynamic_risk is None
    assert config.risk.trailing == TRAILING_DEFAULTS


def test_toml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[costs]\nslippage = 0\ntaker_fee = \n")
    with pytest.raises(ConfigError) as info:
        load_toml_overrides(path)
    message = str(info.value)
    assert message.startswith(f"config file {path}: invalid TOML: ")
    assert "line 3" in message


def test_toml_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError) as info:
        config_from_toml(path)
    assert str(info.value) == f"config file {path}: not found"


def test_toml_unreadable_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_toml_overrides(tmp_path)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_toml_overrides(binary)


def test_toml_bad_value_names_the_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "range.toml"
    path.write_text("[costs]\nslippage = -1\n")
    with pytest.raises(ConfigError) as info:
        config_from_toml(path)
    assert str(info.value) == (
        f"config file {path}: costs.slippage: must be finite and >= 0, got -1.0"
    )


def test_optional_sections_table_is_consistent() -> None:
    assert (
        frozenset({"trailing", "partials", "dynamic_risk", "time_exits", "correlation"})
        == OPTIONAL_SECTIONS
    )
    assert isinstance(SECTION_DEFAULTS["trailing"], TrailingPolicy)


def test_tier_errors() -> None:
    assert _error({"dynamic_risk.tiers": []}) == (
        "dynamic_risk.tiers: must be a non-empty tuple of pairs, got ()"
    )
    assert _error({"dynamic_risk.tiers": [[0.1, 0.5], [0.1, 0.4]]}).startswith(
        "dynamic_risk.tiers: drawdowns must strictly increase, got "
    )


def test_empty_string_value() -> None:
    assert _error({"fills.detail_timeframe": " "}) == (
        "fills.detail_timeframe: must be a non-empty string, got ' '"
    )


def test_position_cap_is_the_tightest_limit() -> None:
    assert DEFAULT.risk.limits.position_cap == 0.10
    loose = merge_overrides(DEFAULT, {"risk": {"max_position": 3, "max_exposure": 2}})
    assert loose.risk.limits.position_cap == 1.0


def test_domain_messages_without_a_field_prefix_keep_the_section() -> None:
    assert keyed_message("costs", ["slippage"], "bad value 3") == "costs.slippage: bad value 3"
    assert keyed_message("costs", ["slippage", "taker_fee"], "bad value 3") == (
        "costs: bad value 3"
    )


def test_did_you_mean() -> None:
    assert did_you_mean("slipage", ["slippage", "taker_fee"]) == "; did you mean 'slippage'?"
    assert did_you_mean("zzz", ["slippage"]) == ""
