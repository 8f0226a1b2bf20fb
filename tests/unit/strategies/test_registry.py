"""Registry lookups, user strategies by path, and parameter parsing/validation."""

from __future__ import annotations

import pytest

from atb.domain.errors import StrategyError
from atb.strategies import (
    BUILTINS,
    ParameterSpec,
    ParamKind,
    Strategy,
    available,
    create_strategy,
    get_entry,
    parse_params,
)
from atb.strategies.definition import DefinedStrategy
from atb.strategies.parameter_fields import parameter_specs
from atb.strategies.sma_cross import SmaCross

SMA_CROSS_PARAMETERS = parameter_specs(SmaCross)


def test_builtins_are_listed() -> None:
    assert available() == [
        "breakout", "buy_and_hold", "ml_basic", "rsi_mean_reversion", "sma_cross",
    ]  # fmt: skip
    assert {spec.name for spec in BUILTINS["sma_cross"].parameters} == {
        "fast", "slow", "stop_loss", "take_profit", "size", "allow_short",
    }  # fmt: skip


def test_unknown_strategy_lists_the_available_ones() -> None:
    with pytest.raises(
        StrategyError, match=r"unknown strategy 'nope'.*breakout, buy_and_hold, ml_basic"
    ):
        get_entry("nope")


def test_create_builtin_with_params() -> None:
    strategy = create_strategy("sma_cross", {"fast": 5, "slow": 20, "allow_short": True})
    assert isinstance(strategy, DefinedStrategy)
    assert isinstance(strategy.definition, SmaCross)
    assert isinstance(strategy, Strategy)
    assert strategy.parameters["fast"] == 5
    assert strategy.parameters["stop_loss"] is None
    assert strategy.warmup == 21


def test_parse_params_converts_and_validates() -> None:
    parsed = parse_params(
        ["fast=5", "slow = 40", "stop_loss=0.02", "take_profit=None", "allow_short=true"],
        SMA_CROSS_PARAMETERS,
    )
    assert parsed == {
        "fast": 5, "slow": 40, "stop_loss": 0.02, "take_profit": None, "allow_short": True,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("fast=ten", r"parameter fast: 'ten' is not a valid int"),
        ("fast=0", r"parameter fast: 0 must be >= 1"),
        ("stop_loss=0", r"parameter stop_loss: 0.0 must be > 0"),
        ("stop_loss=1.5", r"parameter stop_loss: 1.5 must be <= 1"),
        ("size=nan", r"parameter size: nan is not a valid float"),
        ("allow_short=maybe", r"parameter allow_short: 'maybe' is not a valid bool"),
        ("fast=None", r"parameter fast: 'None' is not a valid int"),
        ("speed=3", r"unknown parameter speed = '3' \(known parameters: allow_short, fast"),
        ("fast", r"must look like name=value"),
    ],
)
def test_parse_params_errors_name_parameter_and_value(assignment: str, message: str) -> None:
    with pytest.raises(StrategyError, match=message):
        parse_params([assignment], SMA_CROSS_PARAMETERS)


def test_create_rejects_unknown_and_inconsistent_params() -> None:
    with pytest.raises(StrategyError, match=r"unknown parameter fsat = 3"):
        create_strategy("sma_cross", {"fsat": 3})
    with pytest.raises(StrategyError, match=r"fast = 30 must be smaller than slow = 30"):
        create_strategy("sma_cross", {"fast": 30})
    with pytest.raises(StrategyError, match=r"parameter size: True is not a valid float"):
        create_strategy("buy_and_hold", {"size": True})


def test_spec_validation_of_kinds() -> None:
    spec = ParameterSpec("n", ParamKind.INT, 3, "count", minimum=1, maximum=5)
    assert spec.validate(4.0) == 4
    with pytest.raises(StrategyError, match="parameter n: 6 must be <= 5"):
        spec.validate(6)
    with pytest.raises(StrategyError, match="parameter n may not be None"):
        spec.validate(None)
    text = ParameterSpec("label", ParamKind.STR, None, "a label", nullable=True)
    assert text.parse("none") is None
    assert text.parse("abc") == "abc"


def test_user_strategy_by_module_path() -> None:
    entry = get_entry("tests.unit.strategies.leaky:LookAheadStrategy")
    assert [spec.name for spec in entry.parameters] == ["lead"]
    strategy = entry.create(entry.parse(["lead=2"]))
    assert strategy.name == "look_ahead"
    assert strategy.parameters == {"lead": 2}


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("tests.unit.strategies.nowhere:X", r"cannot import tests.unit.strategies.nowhere"),
        ("tests.unit.strategies.leaky:Missing", r"has no Missing"),
        ("tests.unit.strategies.leaky:NOT_CALLABLE", r"is not a class or factory"),
        ("tests.unit.strategies.leaky:not_a_strategy", r"does not satisfy the Strategy protocol"),
        (":X", r"must look like package.module:Class or path/to/file.py:Class"),
    ],
)
def test_user_strategy_errors(path: str, message: str) -> None:
    with pytest.raises(StrategyError, match=message):
        create_strategy(path)


def test_ml_basic_needs_symbol_and_model() -> None:
    with pytest.raises(StrategyError, match="ml_basic needs a symbol and timeframe"):
        create_strategy("ml_basic")
