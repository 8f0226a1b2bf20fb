"""What `atb optimize` optimises, and which trials count: objectives and constraints.

An objective is a metric of `atb backtest` (`PerformanceMetrics`, e.g. `sharpe`), or a small
expression of metrics with numbers, `+ - * /` and parentheses (`total_return / max_drawdown`).
Its direction is maximise, except for the metrics where less is better (drawdowns, losses,
fees, volatility); a `max:` or `min:` prefix says it explicitly (`min:max_drawdown`). A trial
whose objective is undefined (a metric that is None, a division by zero) is infeasible.

A constraint is `metric OP number` with OP one of `>= <= > < ==`, e.g. `n_trades>=30`; a trial
that breaks one is infeasible: it is recorded with its metrics, never chosen as the best, and
the TPE sampler learns to avoid its region (Optuna's `constraints_func`).
"""

from __future__ import annotations

import ast
import enum
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence

import attrs

from atb.domain.errors import ConfigError
from atb.managers.performance_metrics import PerformanceMetrics

__all__ = [
    "METRIC_NAMES",
    "Constraint",
    "Direction",
    "Objective",
    "feasible",
    "parse_constraint",
    "parse_objective",
]

Metrics = Mapping[str, float | int | None]
"""A backtest's metrics by name (`PerformanceMetrics.as_dict()`)."""

METRIC_NAMES: tuple[str, ...] = tuple(
    field.name for field in attrs.fields(PerformanceMetrics) if field.name != "initial_equity"
)
"""The metrics an objective or a constraint may name."""

_LOWER_IS_BETTER = frozenset(
    {
        "annual_volatility", "max_drawdown", "max_drawdown_quote", "max_drawdown_duration_bars",
        "max_drawdown_duration_days", "ulcer_index", "n_losses", "gross_loss",
        "max_consecutive_losses", "total_fees", "total_slippage",
    }
)  # fmt: skip


class Direction(enum.Enum):
    """Whether the objective is to be made large or small."""

    MAXIMIZE = "maximize"
    MINIMIZE = "minimize"


_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


@attrs.frozen(slots=True)
class Objective:
    """An objective: its text, direction and parsed expression."""

    text: str
    direction: Direction
    _tree: ast.expr = attrs.field(alias="tree", eq=False, repr=False)
    metrics: tuple[str, ...]
    """The metrics the objective reads."""

    def value(self, metrics: Metrics) -> float | None:
        """The objective of one trial's metrics; None when undefined (a None metric, a
        division by zero, an infinite or NaN result)."""
        try:
            result = _evaluate(self._tree, metrics)
        except ZeroDivisionError:
            return None
        if result is None or not math.isfinite(result):
            return None
        return result

    def better(self, first: float, second: float) -> bool:
        """True when `first` is strictly better than `second`."""
        return first > second if self.direction is Direction.MAXIMIZE else first < second


@attrs.frozen(slots=True)
class Constraint:
    """`metric OP bound`: a condition every counted trial meets."""

    text: str
    metric: str
    operator: str
    bound: float

    def met(self, metrics: Metrics) -> bool:
        """True when the trial's metric meets the condition (a None metric does not)."""
        value = metrics.get(self.metric)
        if value is None:
            return False
        return _COMPARISONS[self.operator](float(value), self.bound)

    def violation(self, metrics: Metrics) -> float:
        """How far the trial is from meeting it: 0 when met, else a positive distance (≤ 0
        is feasible in Optuna's `constraints_func` convention)."""
        value = metrics.get(self.metric)
        if value is None:
            return 1.0
        if self.met(metrics):
            return 0.0
        # A strict bound met with equality is a miss too: never report it as feasible.
        return abs(float(value) - self.bound) + 1e-12


_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
}
_CONSTRAINT = re.compile(r"^\s*([a-z_]+)\s*(>=|<=|==|>|<)\s*(\S+)\s*$")


def parse_objective(text: str) -> Objective:
    """`sharpe`, `min:max_drawdown`, `max:total_return / max_drawdown`, …; `ConfigError` for
    an unknown metric or anything beyond numbers, metrics and `+ - * / ( )`."""
    body = text.strip()
    direction: Direction | None = None
    for prefix, given in (("max:", Direction.MAXIMIZE), ("min:", Direction.MINIMIZE)):
        if body.lower().startswith(prefix):
            direction, body = given, body[len(prefix) :].strip()
    if not body:
        raise ConfigError(f"--objective {text!r}: name a metric, e.g. --objective sharpe")
    try:
        tree = ast.parse(body, mode="eval").body
    except SyntaxError:
        raise ConfigError(
            f"--objective {text!r}: not a metric or an expression of metrics"
        ) from None
    names = _names(tree, text)
    if direction is None:
        lower = len(names) == 1 and isinstance(tree, ast.Name) and names[0] in _LOWER_IS_BETTER
        direction = Direction.MINIMIZE if lower else Direction.MAXIMIZE
    return Objective(text.strip(), direction, tree=tree, metrics=names)


def parse_constraint(text: str) -> Constraint:
    """`n_trades>=30` and the like; `ConfigError` naming what is wrong."""
    match = _CONSTRAINT.match(text)
    if match is None:
        raise ConfigError(
            f"--constraint {text!r}: expected metric OP number with OP one of >= <= > < ==, "
            "e.g. n_trades>=30"
        )
    metric, comparison, bound_text = match.groups()
    if metric not in METRIC_NAMES:
        raise ConfigError(f"--constraint {text!r}: {metric!r} is not a metric{_hint(metric)}")
    try:
        bound = float(bound_text)
    except ValueError:
        raise ConfigError(f"--constraint {text!r}: {bound_text!r} is not a number") from None
    if not math.isfinite(bound):
        raise ConfigError(f"--constraint {text!r}: the bound must be a finite number")
    return Constraint(text.strip(), metric, comparison, bound)


def feasible(constraints: Sequence[Constraint], metrics: Metrics) -> bool:
    """True when the trial meets every constraint."""
    return all(constraint.met(metrics) for constraint in constraints)


def _names(tree: ast.expr, text: str) -> tuple[str, ...]:
    """The metrics an expression reads, refusing any other construct."""
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id not in METRIC_NAMES:
                raise ConfigError(
                    f"--objective {text!r}: {node.id!r} is not a metric{_hint(node.id)}"
                )
            if node.id not in found:
                found.append(node.id)
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise ConfigError(f"--objective {text!r}: only numbers and metrics")
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                raise ConfigError(f"--objective {text!r}: only + - * / between metrics")
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub | ast.UAdd):
                raise ConfigError(f"--objective {text!r}: only + - * / between metrics")
        elif not isinstance(node, ast.Load | ast.operator | ast.unaryop):
            raise ConfigError(
                f"--objective {text!r}: only metrics, numbers, + - * / and parentheses"
            )
    return tuple(found)


def _evaluate(node: ast.expr, metrics: Metrics) -> float | None:
    if isinstance(node, ast.Name):
        value = metrics.get(node.id)
        return None if value is None else float(value)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, metrics)
        if operand is None:
            return None
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left = _evaluate(node.left, metrics)
        right = _evaluate(node.right, metrics)
        if left is None or right is None:
            return None
        return _BINARY[type(node.op)](left, right)
    raise ConfigError(f"cannot evaluate {ast.dump(node)}")  # refused when parsed


def _hint(name: str) -> str:
    close = [metric for metric in METRIC_NAMES if name in metric or metric in name]
    return f" (did you mean {', '.join(close[:3])}?)" if close else ""
