"""`--param` ranges and choices, `--objective` and `--constraint` of `atb optimize`: what they
mean, and every way to get them wrong refused in one line naming the option."""

from __future__ import annotations

import pytest

from atb.domain.errors import ConfigError, StrategyError
from atb.research.objective import Direction, parse_constraint, parse_objective
from atb.research.search import redact_storage
from atb.research.space import Choice, FloatRange, IntRange, parse_space
from atb.strategies.registry import get_entry

SMA = get_entry("sma_cross").parameters


def test_every_form_of_param() -> None:
    space = parse_space(
        "sma_cross",
        SMA,
        [
            "fast=5:50",
            "slow=20:200:10",
            "stop_loss=0.005:0.1:log",
            "take_profit=0.02:0.06:0.01",
            "allow_short=true,false",
            "size=0.5",
        ],
    )
    assert space.dimensions == (
        IntRange("fast", 5, 50),
        IntRange("slow", 20, 200, 10),
        FloatRange("stop_loss", 0.005, 0.1, None, log=True),
        FloatRange("take_profit", 0.02, 0.06, 0.01),
        Choice("allow_short", (True, False)),
    )
    assert space.names == ("fast", "slow", "stop_loss", "take_profit", "allow_short")
    assert dict(space.fixed) == {"size": 0.5}
    assert IntRange("slow", 20, 200, 10).grid()[:3] == (20, 30, 40)
    assert FloatRange("take_profit", 0.02, 0.06, 0.01).grid() == (0.02, 0.03, 0.04, 0.05, 0.06)
    assert parse_space("sma_cross", SMA, ["stop_loss=0.01,None"]).dimensions == (
        Choice("stop_loss", (0.01, None)),
    )


def test_a_grid_needs_finite_values() -> None:
    grid = parse_space("sma_cross", SMA, ["fast=5:7", "allow_short=true,false"])
    assert grid.grid() == {"fast": [5, 6, 7], "allow_short": [True, False]}
    assert grid.grid_size() == 6
    with pytest.raises(StrategyError, match="--param stop_loss: a grid search needs a finite"):
        parse_space("sma_cross", SMA, ["stop_loss=0.01:0.05"]).grid()


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (["nope=1:5"], "sma_cross has no parameter 'nope'; its parameters: "),
        (["fast=0:50"], r"--param 'fast=0:50': parameter fast"),
        (["size=0.5:1.5"], r"--param 'size=0.5:1.5': parameter size"),
        (["fast=50:5"], "the low end must be below the high end"),
        (["fast=5:50:7"], "the step 7 does not divide the range 5:50"),
        (["fast=5:50:0"], "the step must be at least 1"),
        (["stop_loss=0:0.1:log"], "parameter stop_loss: 0.0 must be > 0"),
        (["allow_short=0:1"], "allow_short is a bool; give a choice"),
        (["fast=10"], "nothing to search: give at least one range or choice"),
        (["fast=5:50", "fast=6:7"], "--param fast is given twice"),
        (["fast=5,5"], "a choice is repeated"),
        (["fast"], "expected name=value, name=low:high or a,b,c"),
        (["fast=1:2:3:4"], "expected low:high, low:high:step or low:high:log"),
    ],
)
def test_bad_params_are_refused(texts: list[str], message: str) -> None:
    with pytest.raises(StrategyError, match=message):
        parse_space("sma_cross", SMA, texts)


def test_objectives_and_their_directions() -> None:
    sharpe = parse_objective("sharpe")
    assert sharpe.direction is Direction.MAXIMIZE
    assert sharpe.value({"sharpe": 1.5}) == 1.5
    assert sharpe.value({"sharpe": None}) is None
    assert parse_objective("max_drawdown").direction is Direction.MINIMIZE
    assert parse_objective("max:max_drawdown").direction is Direction.MAXIMIZE
    ratio = parse_objective("min: total_return / max_drawdown - 1")
    assert ratio.direction is Direction.MINIMIZE
    assert ratio.metrics == ("total_return", "max_drawdown")
    assert ratio.value({"total_return": 0.3, "max_drawdown": 0.1}) == pytest.approx(2.0)
    assert ratio.value({"total_return": 0.3, "max_drawdown": 0.0}) is None  # undefined
    assert parse_objective("-sharpe").value({"sharpe": 2.0}) == -2.0
    assert sharpe.better(2.0, 1.0)
    assert parse_objective("max_drawdown").better(0.1, 0.2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sharp", r"'sharp' is not a metric \(did you mean sharpe"),
        ("sharpe ** 2", "only \\+ - \\* / between metrics"),
        ("__import__('os')", "only metrics, numbers"),
        ("max:", "name a metric"),
        ("sharpe +", "not a metric or an expression of metrics"),
    ],
)
def test_bad_objectives_are_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_objective(text)


def test_constraints() -> None:
    enough = parse_constraint("n_trades>=30")
    assert enough.met({"n_trades": 30})
    assert not enough.met({"n_trades": 29})
    assert enough.violation({"n_trades": 30}) == 0.0
    assert enough.violation({"n_trades": 20}) == pytest.approx(10.0)
    strict = parse_constraint("max_drawdown < 0.2")
    assert not strict.met({"max_drawdown": 0.2})
    assert strict.violation({"max_drawdown": 0.2}) > 0  # a strict bound met with equality
    assert not strict.met({"max_drawdown": None})
    for text, message in (
        ("n_trades>>3", "'>3' is not a number"),
        ("n trades 3", "expected metric OP number"),
        ("trades>=3", "'trades' is not a metric"),
        ("n_trades>=inf", "the bound must be a finite number"),
    ):
        with pytest.raises(ConfigError, match=message):
            parse_constraint(text)


def test_a_storage_password_never_shows() -> None:
    assert (
        redact_storage("postgresql://atb:s3cret@db.local:5432/studies")
        == "postgresql://atb:***@db.local:5432/studies"
    )
    assert redact_storage("sqlite:////home/me/studies.sqlite3") == (
        "sqlite:////home/me/studies.sqlite3"
    )
