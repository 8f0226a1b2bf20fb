"""The output folder of `atb optimize --walk-forward`, written atomically.

- `walk_forward.json`: the folds (windows, study, chosen parameters, in-sample and
  out-of-sample objective and metrics, degradation, model), and the stitched out-of-sample run
  (its metrics and segments) — `schema_version` first.
- `folds.csv`: one row per fold (windows, parameters, in- and out-of-sample objective).
- `oos_equity.csv`: the stitched out-of-sample equity, one row per bar, with its fold.
- `report.html`: the stitched out-of-sample equity with the fold boundaries, in-sample vs
  out-of-sample objective per fold, and the fold table.
- `folds/K/`: each fold's search (`study.json`, `trials.csv`), its out-of-sample backtest
  (`oos/`, the files `atb backtest` writes: `atb backtest --rerun folds/K/oos/result.json`
  repeats it) and, for a strategy with a model, the model it trained (`model/`).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import attrs
import numpy as np

from atb import __version__
from atb.domain.errors import AtbError
from atb.domain.timestamps import from_ns
from atb.reporting.chart_html import chart_html
from atb.reporting.charts import BASE_LAYOUT, TITLE_STYLE
from atb.reporting.figure_spec import FigureSpec, figure, trace
from atb.reporting.files import FileContent, result_file_contents, write_tree
from atb.reporting.html_report import REPORT_STYLE, escape_html, key_value_section
from atb.reporting.json_text import json_text
from atb.reporting.result_files import EquityFormat
from atb.research.objective import Constraint, Objective
from atb.research.space import SearchSpace
from atb.research.study_files import (
    StudyReport,
    csv_cell,
    json_number,
    plain_metrics,
    study_to_json,
    trials_csv,
)
from atb.research.walk_forward import FoldOutcome, WalkForwardResult
from atb.strategies.ml_artifact import artifact_paths

__all__ = ["WALK_FORWARD_SCHEMA_VERSION", "WalkForwardReport", "write_walk_forward_files"]

WALK_FORWARD_SCHEMA_VERSION = 1
WALK_FORWARD_JSON = "walk_forward.json"
FOLDS_CSV = "folds.csv"
OOS_EQUITY_CSV = "oos_equity.csv"
REPORT_HTML = "report.html"
FOLDS = "folds"
ENTRIES = (WALK_FORWARD_JSON, FOLDS_CSV, OOS_EQUITY_CSV, REPORT_HTML, FOLDS)


@attrs.frozen(kw_only=True)
class WalkForwardReport:
    """Everything the output folder says."""

    result: WalkForwardResult
    space: SearchSpace
    objective: Objective
    constraints: tuple[Constraint, ...]
    workers: int
    seconds: float
    ray_address: str | None = None


def write_walk_forward_files(
    report: WalkForwardReport,
    folder: Path,
    *,
    overwrite: bool,
    what: str,
    equity_format: EquityFormat = EquityFormat.CSV,
) -> Path:
    """Render and write the folder (see the module docstring); returns it. Each fold's
    out-of-sample curve is written in `equity_format` (`oos_equity.csv` stays text)."""
    contents: dict[str, FileContent] = {
        WALK_FORWARD_JSON: json_text(walk_forward_to_dict(report)),
        FOLDS_CSV: folds_csv(report),
        OOS_EQUITY_CSV: oos_equity_csv(report.result),
        REPORT_HTML: render_walk_forward_report(report),
    }
    for outcome in report.result.folds:
        prefix = f"{FOLDS}/{outcome.fold.number}"
        study = _fold_study(report, outcome)
        contents[f"{prefix}/study.json"] = study_to_json(study)
        contents[f"{prefix}/trials.csv"] = trials_csv(study)
        for name, content in result_file_contents(outcome.out_of_sample, equity_format).items():
            contents[f"{prefix}/oos/{name}"] = content
        if outcome.model is not None:
            inputs = outcome.inputs
            for path in artifact_paths(outcome.model.folder, inputs.symbol, inputs.timeframe):
                contents[f"{prefix}/model/{path.name}"] = path.read_bytes()
    try:
        return write_tree(contents, folder, overwrite=overwrite, entries=ENTRIES)
    except OSError as error:
        raise AtbError(
            f"{what}: cannot write the walk-forward: {error.strerror or error}"
        ) from error


def _fold_study(report: WalkForwardReport, outcome: FoldOutcome) -> StudyReport:
    return StudyReport(
        settings=outcome.settings,
        space=report.space,
        objective=report.objective,
        constraints=report.constraints,
        trials=outcome.trials,
        inputs=outcome.inputs,
        seconds=outcome.seconds,
        workers=report.workers,
        ray_address=report.ray_address,
    )


def walk_forward_to_dict(report: WalkForwardReport) -> dict[str, object]:
    """`walk_forward.json` as JSON-ready values, keys in a fixed order."""
    result = report.result
    first = result.folds[0]
    inputs = first.inputs
    stitched = result.stitched
    return {
        "schema_version": WALK_FORWARD_SCHEMA_VERSION,
        "kind": "walk_forward",
        "run": {
            "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "atb_version": __version__,
            "seconds": json_number(report.seconds),
            "workers": report.workers,
            "ray_address": report.ray_address,
        },
        "strategy": inputs.strategy,
        "symbol": inputs.symbol,
        "timeframe": inputs.timeframe,
        "walk_forward": {
            "folds": result.walk.folds,
            "train_days": result.walk.train_days,
            "test_days": result.walk.test_days,
            "anchored": result.walk.anchored,
        },
        "objective": {"text": report.objective.text, "direction": report.objective.direction.value},
        "constraints": [constraint.text for constraint in report.constraints],
        "trials_per_fold": first.settings.trials,
        "seed": first.settings.seed,
        "sampler": first.settings.sampler.value,
        "fixed": dict(report.space.fixed),
        "folds": [_fold(outcome) for outcome in result.folds],
        "out_of_sample": {
            "initial_balance": stitched.initial_balance,
            "final_equity": json_number(float(stitched.equity.equity[-1])),
            "trades": len(stitched.trades),
            "metrics": plain_metrics(stitched.metrics.as_dict()),
            "value": json_number(report.objective.value(stitched.metrics.as_dict())),
            "matches_parameter_switching_backtest": True,
        },
    }


def _fold(outcome: FoldOutcome) -> dict[str, object]:
    fold = outcome.fold
    oos = outcome.out_of_sample
    model = None
    if outcome.model is not None:
        artifact = outcome.model.artifact
        model = {
            "id": artifact.artifact_id,
            "training_start": artifact.training_start.isoformat(),
            "training_end": artifact.training_end.isoformat(),
            "folder": f"{FOLDS}/{fold.number}/model",
        }
    return {
        "number": fold.number,
        "train": {"start": fold.train_start.isoformat(), "end": fold.train_end.isoformat()},
        "test": {"start": fold.test_start.isoformat(), "end": fold.test_end.isoformat()},
        "study": outcome.settings.study_name,
        "trials": len(outcome.trials),
        "feasible_trials": sum(trial.feasible for trial in outcome.trials),
        "params": dict(outcome.best.params),
        "in_sample": {
            "value": json_number(outcome.in_sample_value),
            "metrics": plain_metrics(outcome.best.metrics),
        },
        "out_of_sample": {
            "value": json_number(outcome.out_of_sample_value),
            "metrics": plain_metrics(oos.metrics.as_dict()),
            "starting_balance": oos.initial_balance,
            "final_equity": json_number(float(oos.equity.equity[-1])),
            "trades": len(oos.trades),
            "folder": f"{FOLDS}/{fold.number}/oos",
        },
        "degradation": json_number(outcome.degradation),
        "model": model,
        "seconds": json_number(outcome.seconds),
    }


def folds_csv(report: WalkForwardReport) -> str:
    """The text of `folds.csv`."""
    names = list(report.space.names)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "fold",
            "train_start",
            "train_end",
            "test_start",
            "test_end",
            *names,
            "in_sample",
            "out_of_sample",
            "degradation",
            "oos_trades",
            "oos_return",
            "model_id",
        ]
    )
    for outcome in report.result.folds:
        fold = outcome.fold
        writer.writerow(
            [
                fold.number,
                fold.train_start.isoformat(),
                fold.train_end.isoformat(),
                fold.test_start.isoformat(),
                fold.test_end.isoformat(),
                *(csv_cell(outcome.best.params.get(name)) for name in names),
                csv_cell(outcome.in_sample_value),
                csv_cell(outcome.out_of_sample_value),
                csv_cell(outcome.degradation),
                len(outcome.out_of_sample.trades),
                csv_cell(outcome.out_of_sample.metrics.total_return),
                "" if outcome.model is None else outcome.model.artifact.artifact_id,
            ]
        )
    return buffer.getvalue()


def oos_equity_csv(result: WalkForwardResult) -> str:
    """The text of `oos_equity.csv`: time, equity and fold of every out-of-sample bar."""
    buffer = io.StringIO()
    buffer.write("time,equity,fold\n")
    for outcome in result.folds:
        curve = outcome.out_of_sample.equity
        for time_ns, equity in zip(curve.times_ns, curve.equity, strict=True):
            stamp = from_ns(int(time_ns)).isoformat().replace("+00:00", "Z")
            buffer.write(f"{stamp},{float(equity)!r},{outcome.fold.number}\n")
    return buffer.getvalue()


def render_walk_forward_report(report: WalkForwardReport) -> str:
    """The text of `report.html` (offline: plotly.js inlined with the first chart)."""
    result = report.result
    inputs = result.folds[0].inputs
    objective = report.objective
    title = (
        f"walk-forward {inputs.strategy} {inputs.symbol} {inputs.timeframe}: "
        f"{len(result.folds)} folds"
    )
    stitched = result.stitched
    oos_value = objective.value(stitched.metrics.as_dict())
    summary = [
        ("Folds", str(result.walk.folds)),
        ("Train, test", f"{result.walk.train_days} d, {result.walk.test_days} d"),
        ("Windows", "anchored" if result.walk.anchored else "rolling"),
        ("Objective", f"{objective.direction.value} {objective.text}"),
        ("Constraints", ", ".join(c.text for c in report.constraints) or "none"),
        ("Trials per fold", str(result.folds[0].settings.trials)),
        ("Workers", str(report.workers)),
        ("Time", f"{report.seconds:.1f} s"),
    ]
    metrics = stitched.metrics
    oos_rows = [
        ("Initial balance", f"{stitched.initial_balance:,.2f}"),
        ("Final equity", f"{float(stitched.equity.equity[-1]):,.2f}"),
        ("Total return", f"{metrics.total_return:.2%}"),
        ("Max drawdown", f"{metrics.max_drawdown:.2%}"),
        ("Trades", str(len(stitched.trades))),
        (objective.text, "-" if oos_value is None else f"{oos_value:.4g}"),
    ]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape_html(title)}</title><style>{REPORT_STYLE}</style></head><body><main>",
        f"<h1>{escape_html(title)}</h1>",
        '<div class="grid">',
        key_value_section("Walk-forward", summary),
        key_value_section("Out of sample (stitched)", oos_rows),
        "</div>",
        chart_html(_equity_chart(result), "chart-0", first=True),
        chart_html(_objective_chart(report), "chart-1", first=False),
        _fold_table(report),
        "</main></body></html>",
    ]
    return "\n".join(parts)


def _equity_chart(result: WalkForwardResult) -> FigureSpec:
    curve = result.stitched.equity
    times = [from_ns(int(value)).isoformat() for value in curve.times_ns]
    equity = trace(
        "scatter",
        x=times,
        y=np.asarray(curve.equity).tolist(),
        mode="lines",
        name="out-of-sample equity",
    )
    boundaries = [
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": outcome.fold.test_start.isoformat(),
            "x1": outcome.fold.test_start.isoformat(),
            "y0": 0,
            "y1": 1,
            "line": {"dash": "dot", "width": 1, "color": "#888"},
        }
        for outcome in result.folds[1:]
    ]
    return figure(
        [equity],
        **BASE_LAYOUT,
        title={**TITLE_STYLE, "text": "Stitched out-of-sample equity (dotted: fold boundaries)"},
        yaxis={"title": {"text": "equity"}},
        shapes=boundaries,
    )


def _objective_chart(report: WalkForwardReport) -> FigureSpec:
    folds = [f"fold {outcome.fold.number}" for outcome in report.result.folds]
    in_sample = trace(
        "bar",
        x=folds,
        y=[outcome.in_sample_value for outcome in report.result.folds],
        name="in sample (best trial)",
    )
    out_of_sample = trace(
        "bar",
        x=folds,
        y=[outcome.out_of_sample_value for outcome in report.result.folds],
        name="out of sample",
    )
    return figure(
        [in_sample, out_of_sample],
        **BASE_LAYOUT,
        barmode="group",
        title={**TITLE_STYLE, "text": f"{report.objective.text}: in sample vs out of sample"},
    )


def _fold_table(report: WalkForwardReport) -> str:
    names = list(report.space.names)
    header = "".join(
        f"<th scope='col'>{escape_html(name)}</th>"
        for name in (
            "fold",
            "train",
            "test",
            *names,
            "in sample",
            "out of sample",
            "degradation",
            "trades",
            "return",
        )
    )
    rows = []
    for outcome in report.result.folds:
        fold = outcome.fold
        cells = [
            str(fold.number),
            f"{fold.train_start:%Y-%m-%d} → {fold.train_end:%Y-%m-%d}",
            f"{fold.test_start:%Y-%m-%d} → {fold.test_end:%Y-%m-%d}",
            *(_shown(outcome.best.params.get(name)) for name in names),
            _shown(outcome.in_sample_value),
            _shown(outcome.out_of_sample_value),
            _shown(outcome.degradation),
            str(len(outcome.out_of_sample.trades)),
            f"{outcome.out_of_sample.metrics.total_return:.2%}",
        ]
        rows.append("<tr>" + "".join(f"<td>{escape_html(cell)}</td>" for cell in cells) + "</tr>")
    return (
        "<h2>Folds</h2><table class='trials'><thead><tr>"
        + header
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _shown(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
