"""Report figures as the plain dicts plotly.js draws (`{"data": [...], "layout": {...}}`).

plotly.py's figure objects validate and coerce every property as it is set: the report's four
figures cost ~0.12 s to build that way, and the first report in a process ~0.25 s more while
plotly imports a validator module per property and copies its template into each figure, about
a fifth of a typical `atb backtest`. The reports build the dicts plotly.py would give
(`go.Figure(spec).to_dict()` equals each spec: `tests/unit/reporting/test_figure_spec.py`), and
`atb.reporting.chart_html` writes them into the page as they are.

Conventions of that form, kept by every builder here: a trace is its properties plus `type`;
a numeric series is a base64 typed array (`series`: half the size of decimal text); a colorscale
is spelled out as `[[position, colour], ...]`; the layout carries the whole `plotly_white`
template, read once from plotly's own package data.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Sequence
from importlib import resources

import numpy as np
import numpy.typing as npt

FigureSpec = dict[str, object]
"""A figure: `{"data": [trace, ...], "layout": {...}}`."""

TraceSpec = dict[str, object]
"""A trace: its properties and `"type"`."""

TEMPLATE_NAME = "plotly_white"
"""The plotly template every report figure uses."""

__all__ = [
    "TEMPLATE_NAME",
    "FigureSpec",
    "TraceSpec",
    "colorscale",
    "figure",
    "series",
    "template",
    "trace",
]


def trace(kind: str, **properties: object) -> TraceSpec:
    """A trace of type `kind` (`scatter`, `heatmap`, …) with `properties`."""
    return {"type": kind, **properties}


def figure(traces: Sequence[TraceSpec], **layout: object) -> FigureSpec:
    """A figure of `traces` with `layout` and the report template."""
    return {"data": list(traces), "layout": {"template": template(), **layout}}


@functools.cache
def template() -> dict[str, object]:
    """The `plotly_white` template as plotly.py embeds it in a figure (read once; callers
    never change it)."""
    source = resources.files("plotly") / "package_data" / "templates" / f"{TEMPLATE_NAME}.json"
    loaded: dict[str, object] = json.loads(source.read_text(encoding="utf-8"))
    return loaded


def colorscale(colours: Sequence[str]) -> list[list[float | str]]:
    """Colours spread evenly from 0 to 1, as plotly.py expands a named colorscale."""
    last = len(colours) - 1
    return [[index / last, colour] for index, colour in enumerate(colours)]


def series(values: npt.NDArray[np.float64]) -> dict[str, str] | npt.NDArray[np.float64]:
    """A float64 series as plotly.js's typed array (`{"dtype": "f8", "bdata": base64}`, the
    little-endian bytes), as plotly.py writes a numpy array; an empty one stays an array."""
    array = np.ascontiguousarray(values, dtype="<f8")
    if array.size == 0:
        return array
    return {"dtype": "f8", "bdata": base64.b64encode(array.tobytes()).decode("ascii")}
