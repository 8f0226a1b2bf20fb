"""User strategies anywhere: by file path or module, with one-line refusals."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from atb.domain.errors import StrategyError
from atb.strategies import DefinedStrategy, ParamKind, create_strategy, get_entry, parameter_specs
from atb.strategies.parameters import ParameterSpec
from atb.strategies.sma_cross import SmaCross

GOOD = '''
import attrs
import pandas as pd
from atb.strategies import HOLD, Decision, PositionState, Row, parameter

@attrs.frozen
class Quiet:
    """Never trades."""
    window: int = parameter(5, "bars", minimum=1)
    level: float | None = parameter(None, "a level", above=0.0)

    @property
    def warmup(self) -> int:
        return self.window

    def features(self, frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(index=frame.index)

    def decide(self, row: Row, position: PositionState | None) -> Decision:
        return HOLD
'''


def _file(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def test_a_strategy_file_loads_by_path_and_is_named_by_its_absolute_reference(
    tmp_path: Path,
) -> None:
    path = _file(tmp_path, "quiet.py", GOOD)
    entry = get_entry(f"{path}:Quiet")
    assert [spec.name for spec in entry.parameters] == ["window", "level"]
    strategy = entry.create(entry.parse(["window=7", "level=0.5"]))
    assert isinstance(strategy, DefinedStrategy)
    assert strategy.name == f"{path.resolve()}:Quiet"
    assert strategy.parameters == {"window": 7, "level": 0.5}
    assert strategy.warmup == 7


def test_parameter_specs_come_from_the_fields() -> None:
    specs = {spec.name: spec for spec in parameter_specs(SmaCross)}
    assert specs["fast"] == ParameterSpec("fast", ParamKind.INT, 10, "fast SMA window (bars)", 1)
    assert specs["stop_loss"].nullable
    assert specs["stop_loss"].exclusive_minimum
    assert specs["stop_loss"].maximum == 1.0
    assert specs["allow_short"].kind is ParamKind.BOOL


@pytest.mark.parametrize(
    ("text", "attribute", "message"),
    [
        ("def broken(:\n", "X", r"importing .*broken\.py failed: SyntaxError"),
        ("raise RuntimeError('boom')\n", "X", r"importing .* failed: RuntimeError: boom"),
        (GOOD, "Missing", r"has no Missing"),
        (
            GOOD.replace("@attrs.frozen", "@attrs.define"),
            "Quiet",
            r"Quiet: the parameter class is not frozen; declare it with @attrs.frozen",
        ),
        (
            GOOD.replace("@attrs.frozen\n", ""),
            "Quiet",
            r"Quiet: a strategy's parameters must be a frozen attrs class",
        ),
        (
            GOOD.replace("window: int = parameter(5", "window: list[int] = parameter([5]"),
            "Quiet",
            r"Quiet.window: a parameter is an int, float, bool or str",
        ),
    ],
    ids=["syntax", "raises", "missing", "not-frozen", "not-attrs", "bad-kind"],
)
def test_bad_user_strategies_are_refused_in_one_line(
    tmp_path: Path, text: str, attribute: str, message: str
) -> None:
    path = _file(tmp_path, "broken.py", text)
    with pytest.raises(StrategyError, match=message) as refused:
        create_strategy(f"{path}:{attribute}")
    assert "\n" not in str(refused.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(StrategyError, match=r"no file .*nowhere\.py"):
        create_strategy(f"{tmp_path / 'nowhere.py'}:X")
