"""Report figures through plotly.py's own validation (what the reports skip at run time)."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go

from atb.reporting.figure_spec import FigureSpec


def plotly_dict(spec: FigureSpec) -> dict[str, Any]:
    """`spec` as plotly.py's `Figure` holds it after validating every property (raises on
    one plotly does not know)."""
    return go.Figure(spec).to_dict()


def same_figure(ours: object, theirs: object) -> bool:
    """Deep equality of two figure dicts, numpy arrays compared by value and dtype."""
    if isinstance(ours, np.ndarray) or isinstance(theirs, np.ndarray):
        return (
            isinstance(ours, np.ndarray)
            and isinstance(theirs, np.ndarray)
            and ours.dtype == theirs.dtype
            and np.array_equal(ours, theirs)
        )
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return ours.keys() == theirs.keys() and all(
            same_figure(ours[key], theirs[key]) for key in ours
        )
    if isinstance(ours, list | tuple) and isinstance(theirs, list | tuple):
        return len(ours) == len(theirs) and all(
            same_figure(a, b) for a, b in zip(ours, theirs, strict=True)
        )
    return type(ours) is type(theirs) and ours == theirs


def floats(value: object) -> npt.NDArray[np.float64]:
    """A figure's numeric series as floats: a base64 typed array (`{"dtype", "bdata"}`, how
    plotly writes numpy arrays) decoded, or a plain list."""
    if isinstance(value, dict):
        raw = base64.b64decode(str(value["bdata"]))
        decoded = np.frombuffer(raw, dtype=str(value["dtype"]))
        return np.asarray(decoded, dtype=np.float64)
    return np.asarray(value, dtype=np.float64)


def page_figures(page: str) -> list[dict[str, Any]]:
    """Every chart a report page draws: the data and layout of each
    `Plotly.newPlot("id", data, layout, config)`, as the page's JSON holds them."""
    decoder = json.JSONDecoder()
    figures = []
    start = page.find("Plotly.newPlot(")
    while start != -1:
        position = start + len("Plotly.newPlot(")
        arguments = []
        for _ in range(4):
            position = len(page) - len(page[position:].lstrip(", \n"))
            value, position = decoder.raw_decode(page, position)
            arguments.append(value)
        figures.append({"data": arguments[1], "layout": arguments[2]})
        start = page.find("Plotly.newPlot(", position)
    return figures


def assert_page_figures_are_valid(page: str, count: int) -> None:
    """The page draws `count` charts, each one a figure plotly.py's validation leaves as it is
    (every property known to plotly, in its canonical form)."""
    figures = page_figures(page)
    assert len(figures) == count
    for drawn in figures:
        assert same_figure(drawn, plotly_dict(drawn)), drawn["layout"].get("title")
