"""The output folder of `atb optimize`, written atomically (`atb.reporting.files.write_tree`).

- `study.json`: the study (name, storage, sampler, seed, workers), the search (space, fixed
  parameters, objective and constraints), the best trial, and every trial with its parameters,
  objective, feasibility, duration and metrics (`schema_version` first; floats in shortest
  round-trip form, non-finite as null).
- `trials.csv`: one row per trial — slot, parameters, objective, feasible, seconds, error,
  then every metric.
- `report.html`: the best trial, parameter importance, the objective by trial, a
  parallel-coordinates plot, a heatmap for the first two parameters and the trial table.
- `best/`: the best trial's backtest, the four files `atb backtest` writes (`atb backtest
  --rerun best/result.json` repeats it). Its metrics are checked against the study's record.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import attrs
import numpy as np
from plotly.colors import sequential

from atb import __version__
from atb.domain.errors import AtbError
from atb.engines.backtest import run_backtest
from atb.reporting import display
from atb.reporting.chart_html import chart_html
from atb.reporting.charts import BASE_LAYOUT, TITLE_STYLE
from atb.reporting.figure_spec import FigureSpec, TraceSpec, colorscale, figure, trace
from atb.reporting.files import FileContent, result_file_contents, write_tree
from atb.reporting.html_report import REPORT_STYLE, escape_html, key_value_section
from atb.reporting.json_text import json_text
from atb.reporting.result_files import EquityFormat
from atb.research.objective import Constraint, Objective
from atb.research.search import SearchSettings, StudyTrial, best_trial, redact_storage
from atb.research.selection_bias import SelectionBias
from atb.research.space import Choice, FloatRange, IntRange, SearchSpace
from atb.research.trials import TrialInputs, backtest_request

__all__ = [
    "STUDY_SCHEMA_VERSION",
    "StudyFiles",
    "StudyReport",
    "csv_cell",
    "json_number",
    "plain_metrics",
    "study_to_json",
    "trials_csv",
    "write_study_files",
]

STUDY_SCHEMA_VERSION = 1
STUDY_JSON = "study.json"
TRIALS_CSV = "trials.csv"
REPORT_HTML = "report.html"
BEST = "best"
ENTRIES = (STUDY_JSON, TRIALS_CSV, REPORT_HTML, BEST)


@attrs.frozen(kw_only=True)
class StudyReport:
    """Everything the output folder says."""

    settings: SearchSettings
    space: SearchSpace
    objective: Objective
    constraints: tuple[Constraint, ...]
    trials: tuple[StudyTrial, ...]
    inputs: TrialInputs
    seconds: float
    workers: int
    ray_address: str | None = None
    importance: Mapping[str, float] = attrs.field(factory=dict)
    """Optuna's parameter importance (PED-ANOVA) over the completed trials; empty with too few."""
    selection_bias: SelectionBias | None = None
    """The deflated Sharpe ratio of the best trial and the PBO of the search."""


@attrs.frozen(slots=True)
class StudyFiles:
    """Where the study's files were written."""

    directory: Path

    @property
    def best(self) -> Path:
        """The best trial's backtest folder."""
        return self.directory / BEST


class BestTrialMismatchError(AtbError):
    """The best trial's backtest did not give the metrics the study recorded (never expected:
    a trial is that very backtest)."""


def write_study_files(
    report: StudyReport,
    folder: Path,
    *,
    overwrite: bool,
    what: str,
    equity_format: EquityFormat = EquityFormat.CSV,
) -> StudyFiles:
    """Render and write the study's files (see the module docstring); the best trial's curve
    in `equity_format`."""
    contents: dict[str, FileContent] = {
        STUDY_JSON: study_to_json(report),
        TRIALS_CSV: trials_csv(report),
        REPORT_HTML: render_study_report(report),
    }
    best = best_trial(report.trials, report.objective)
    if best is not None:
        result = run_backtest(backtest_request(report.inputs, best.params))
        metrics = plain_metrics(result.metrics.as_dict())
        if metrics != plain_metrics(best.metrics):
            raise BestTrialMismatchError(
                f"{what}: the best trial's backtest gave other metrics than the study recorded"
            )
        for name, content in result_file_contents(result, equity_format).items():
            contents[f"{BEST}/{name}"] = content
    try:
        directory = write_tree(contents, folder, overwrite=overwrite, entries=ENTRIES)
    except OSError as error:
        raise AtbError(f"{what}: cannot write the study: {error.strerror or error}") from error
    return StudyFiles(directory)


def study_to_dict(report: StudyReport) -> dict[str, object]:
    """`study.json` as JSON-ready values, keys in a fixed order."""
    settings = report.settings
    best = best_trial(report.trials, report.objective)
    return {
        "schema_version": STUDY_SCHEMA_VERSION,
        "kind": "study",
        "run": {
            "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "atb_version": __version__,
        },
        "study": {
            "name": settings.study_name,
            "storage": redact_storage(settings.storage),
            "sampler": settings.sampler.value,
            "seed": settings.seed,
            "workers": report.workers,
            "ray_address": report.ray_address,
            "trials_wanted": settings.trials,
            "seconds": json_number(report.seconds),
        },
        "strategy": report.inputs.strategy,
        "symbol": report.inputs.symbol,
        "timeframe": report.inputs.timeframe,
        "candles": {
            "start": report.inputs.candles.index[report.inputs.candles.warmup_bars].isoformat(),
            "end": report.inputs.candles.index[-1].isoformat(),
            "fingerprint": report.inputs.candles.fingerprint(),
            "file": None if report.inputs.data_file is None else str(report.inputs.data_file),
        },
        "space": [_dimension(dimension) for dimension in report.space.dimensions],
        "fixed": dict(report.space.fixed),
        "objective": {"text": report.objective.text, "direction": report.objective.direction.value},
        "constraints": [constraint.text for constraint in report.constraints],
        "importance": {name: json_number(value) for name, value in report.importance.items()},
        "overfitting": _overfitting(report.selection_bias),
        "best": None if best is None else _trial(best),
        "trials": [_trial(trial) for trial in report.trials],
    }


def _overfitting(bias: SelectionBias | None) -> dict[str, object] | None:
    if bias is None:
        return None
    deflated, pbo = bias.deflated_sharpe, bias.pbo
    return {
        "deflated_sharpe": None
        if deflated is None
        else {
            "value": json_number(deflated.value),
            "sharpe_per_bar": json_number(deflated.sharpe),
            "benchmark_per_bar": json_number(deflated.benchmark),
            "trials": deflated.trials,
            "observations": deflated.observations,
            "skewness": json_number(deflated.skewness),
            "kurtosis": json_number(deflated.kurtosis),
            "sharpe_variance": json_number(deflated.sharpe_variance),
        },
        "pbo": None
        if pbo is None
        else {
            "value": json_number(pbo.pbo),
            "partitions": pbo.partitions,
            "combinations": pbo.combinations,
            "trials": pbo.trials,
            "observations": pbo.observations,
            "logits": [json_number(value) for value in pbo.logits],
        },
        "notes": list(bias.notes),
    }


def study_to_json(report: StudyReport) -> str:
    """The text of `study.json`."""
    return json_text(study_to_dict(report))


def trials_csv(report: StudyReport) -> str:
    """The text of `trials.csv`."""
    metric_names = sorted({name for trial in report.trials for name in trial.metrics})
    names = list(report.space.names)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["slot", *names, "value", "feasible", "seconds", "error", *metric_names])
    for trial in report.trials:
        writer.writerow(
            [
                trial.slot,
                *(csv_cell(trial.params.get(name)) for name in names),
                csv_cell(trial.value),
                str(trial.feasible).lower(),
                csv_cell(trial.seconds),
                trial.error or "",
                *(csv_cell(trial.metrics.get(name)) for name in metric_names),
            ]
        )
    return buffer.getvalue()


def render_study_report(report: StudyReport) -> str:
    """The text of `report.html` (offline: plotly.js inlined with the first chart)."""
    objective = report.objective
    best = best_trial(report.trials, objective)
    title = (
        f"optimize {report.inputs.strategy} {report.inputs.symbol} {report.inputs.timeframe}: "
        f"{len(report.trials)} trials"
    )
    summary = [
        ("Study", report.settings.study_name),
        ("Objective", f"{objective.direction.value} {objective.text}"),
        ("Constraints", ", ".join(c.text for c in report.constraints) or "none"),
        ("Sampler, seed", f"{report.settings.sampler.value}, {report.settings.seed}"),
        ("Workers", str(report.workers)),
        ("Feasible trials", str(sum(trial.feasible for trial in report.trials))),
        ("Time", f"{report.seconds:.1f} s"),
    ]
    best_rows = [("Trial", "none feasible")]
    if best is not None and best.value is not None:
        best_rows = [("Trial", str(best.slot)), (objective.text, f"{best.value:.6g}")]
        best_rows += [(name, str(value)) for name, value in best.params.items()]
    bias = report.selection_bias
    bias_rows = [("(not computed)", "")]
    if bias is not None:
        bias_rows = [
            (
                "Deflated Sharpe ratio",
                "-" if bias.deflated_sharpe is None else f"{bias.deflated_sharpe.value:.3f}",
            ),
            ("Probability of overfitting", "-" if bias.pbo is None else f"{bias.pbo.pbo:.3f}"),
        ]
    importance_rows = [
        (name, f"{value:.3f}")
        for name, value in sorted(report.importance.items(), key=lambda item: -item[1])
    ] or [("(too few trials)", "")]
    charts = [_objective_chart(report), _parallel_chart(report)]
    heatmap = _heatmap(report)
    if heatmap is not None:
        charts.append(heatmap)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape_html(title)}</title><style>{REPORT_STYLE}</style></head><body><main>",
        f"<h1>{escape_html(title)}</h1>",
        '<div class="grid">',
        key_value_section("Search", summary),
        key_value_section("Best trial", best_rows),
        key_value_section("Parameter importance", importance_rows),
        key_value_section("Overfitting", bias_rows),
        "</div>",
    ]
    for index, chart in enumerate(charts):
        parts.append(chart_html(chart, f"chart-{index}", first=index == 0))
    parts.append(_trial_table(report))
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _objective_chart(report: StudyReport) -> FigureSpec:
    slots = [float(trial.slot) for trial in report.trials]
    values = [trial.value if trial.feasible else None for trial in report.trials]
    traces: list[TraceSpec] = []
    traces.append(trace("scatter", x=slots, y=values, mode="markers", name=report.objective.text))
    best_so_far: list[float | None] = []
    current: float | None = None
    for value in values:
        if value is not None and (current is None or report.objective.better(value, current)):
            current = value
        best_so_far.append(current)
    traces.append(trace("scatter", x=slots, y=best_so_far, mode="lines", name="best so far"))
    return figure(
        traces,
        **BASE_LAYOUT,
        title={**TITLE_STYLE, "text": f"{report.objective.text} by trial (feasible trials)"},
        xaxis={"title": {"text": "trial"}},
    )


def _parallel_chart(report: StudyReport) -> FigureSpec:
    feasible = [trial for trial in report.trials if trial.feasible and trial.value is not None]
    dimensions: list[dict[str, object]] = []
    for name in report.space.names:
        values = [trial.params.get(name) for trial in feasible]
        if all(isinstance(value, int | float) for value in values):
            dimensions.append({"label": name, "values": [float(str(v)) for v in values]})
        else:
            labels = sorted({str(value) for value in values})
            dimensions.append(
                {
                    "label": name,
                    "values": [float(labels.index(str(value))) for value in values],
                    "tickvals": list(range(len(labels))),
                    "ticktext": labels,
                }
            )
    objective = [float(trial.value or 0.0) for trial in feasible]
    dimensions.append({"label": report.objective.text, "values": objective})
    return figure(
        [
            trace(
                "parcoords",
                dimensions=dimensions,
                line={
                    "color": objective,
                    "colorscale": colorscale(sequential.Viridis),
                    "showscale": True,
                },
            )
        ],
        **BASE_LAYOUT,
        title={**TITLE_STYLE, "text": "parameters of the feasible trials (colour: objective)"},
    )


def _heatmap(report: StudyReport) -> FigureSpec | None:
    """Mean objective over a grid of the first two parameters (up to 12 bins each)."""
    if len(report.space.dimensions) < 2:
        return None
    first, second = report.space.dimensions[:2]
    feasible = [trial for trial in report.trials if trial.feasible and trial.value is not None]
    if not feasible:
        return None
    x_labels, x_of = _bins(first)
    y_labels, y_of = _bins(second)
    sums = np.zeros((len(y_labels), len(x_labels)))
    counts = np.zeros((len(y_labels), len(x_labels)))
    for trial in feasible:
        row, column = y_of(trial.params[second.name]), x_of(trial.params[first.name])
        sums[row, column] += float(trial.value or 0.0)
        counts[row, column] += 1
    z: list[list[float | None]] = [
        [float(sums[r, c] / counts[r, c]) if counts[r, c] else None for c in range(len(x_labels))]
        for r in range(len(y_labels))
    ]
    return figure(
        [
            trace(
                "heatmap",
                z=z,
                x=x_labels,
                y=y_labels,
                colorscale=colorscale(sequential.Viridis),
                hovertemplate=f"{first.name} %{{x}}<br>{second.name} %{{y}}<br>"
                f"mean {report.objective.text} %{{z:.4g}}<extra></extra>",
            )
        ],
        **BASE_LAYOUT,
        title={
            **TITLE_STYLE,
            "text": f"mean {report.objective.text} by {first.name} and {second.name}",
        },
        xaxis={"title": {"text": first.name}, "type": "category"},
        yaxis={"title": {"text": second.name}, "type": "category"},
    )


def _bins(dimension: IntRange | FloatRange | Choice) -> tuple[list[str], _Binner]:
    """The labels of a dimension's cells on a chart axis, and the cell of a value."""
    if isinstance(dimension, Choice):
        labels = [str(value) for value in dimension.values]
        return labels, _Binner(labels=labels)
    low, high = float(dimension.low), float(dimension.high)
    count = 12
    if isinstance(dimension, IntRange):
        count = min(count, (dimension.high - dimension.low) // dimension.step + 1)
    edges = np.linspace(low, high, count + 1)
    labels = [f"{display.ratio(edges[i])}–{display.ratio(edges[i + 1])}" for i in range(count)]
    return labels, _Binner(edges=edges)


@attrs.frozen
class _Binner:
    """A value's cell: its index among a choice's labels, or among the range's bins."""

    labels: list[str] = attrs.field(factory=list)
    edges: np.ndarray = attrs.field(factory=lambda: np.zeros(0))

    def __call__(self, value: object) -> int:
        if self.labels:
            return self.labels.index(str(value))
        index = int(np.searchsorted(self.edges, float(str(value)), side="right")) - 1
        return max(0, min(index, len(self.edges) - 2))


def _trial_table(report: StudyReport) -> str:
    names = list(report.space.names)
    shown = sorted(
        (trial for trial in report.trials if trial.value is not None),
        key=lambda trial: (
            -(trial.value or 0.0)
            if report.objective.direction.value == "maximize"
            else (trial.value or 0.0)
        ),
    )[:50]
    head = "".join(
        f"<th>{escape_html(name)}</th>"
        for name in ("trial", *names, report.objective.text, "feasible", "trades")
    )
    rows = []
    for trial in shown:
        cells = [
            str(trial.slot),
            *(str(trial.params.get(name)) for name in names),
            f"{trial.value:.6g}" if trial.value is not None else "-",
            "yes" if trial.feasible else "no",
            str(trial.metrics.get("n_trades", "-")),
        ]
        rows.append("<tr>" + "".join(f"<td>{escape_html(cell)}</td>" for cell in cells) + "</tr>")
    return (
        "<h2>Trials (the 50 best)</h2>"
        f'<table id="trials"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _dimension(dimension: IntRange | FloatRange | Choice) -> dict[str, object]:
    if isinstance(dimension, Choice):
        return {"name": dimension.name, "kind": "choice", "values": list(dimension.values)}
    kind = "int" if isinstance(dimension, IntRange) else "float"
    return {
        "name": dimension.name,
        "kind": kind,
        "low": dimension.low,
        "high": dimension.high,
        "step": dimension.step,
        "log": dimension.log,
    }


def _trial(trial: StudyTrial) -> dict[str, object]:
    return {
        "slot": trial.slot,
        "params": dict(trial.params),
        "value": json_number(trial.value),
        "feasible": trial.feasible,
        "seconds": json_number(trial.seconds),
        "error": trial.error,
        "metrics": plain_metrics(trial.metrics),
    }


def json_number(value: float | None) -> float | None:
    """A float for JSON: None for a missing or non-finite value."""
    return None if value is None or not math.isfinite(value) else value


def plain_metrics(metrics: Mapping[str, float | int | None]) -> dict[str, float | int | None]:
    """Metrics for JSON (non-finite floats as None)."""
    return {
        key: json_number(value) if isinstance(value, float) else value
        for key, value in metrics.items()
    }


def csv_cell(value: object) -> str:
    """A CSV cell: empty for None or a non-finite float, floats in round-trip form."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    return str(value)
