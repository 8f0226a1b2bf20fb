"""A report figure as an HTML fragment: a div and the `Plotly.newPlot` call that draws into it.

The figures are already the dicts plotly.js draws (`atb.reporting.figure_spec`), so a page
needs nothing from plotly.py but plotly.js itself, read from plotly's package data and inlined
with a page's first chart (the page stays self-contained and works offline). `plotly.io.to_html`
wrote the same fragment, but its first call in a process imported plotly's validators and
narwhals (0.1-0.2 s of every `atb backtest`, ADR 0020).
"""

from __future__ import annotations

import json
import math
from importlib import resources
from typing import Any

from atb.reporting.figure_spec import FigureSpec

__all__ = ["PLOTLY_CONFIG", "chart_html", "plotly_js"]

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
"""plotly.js options of every chart: no plotly logo, resize with the page."""

# In an inline script, "</script>" or "<!--" inside a string would end or derail it: JSON's
# \u escapes keep every such character out of the page's markup. (`str.replace`, not
# `str.translate`: a chart's JSON runs to megabytes, and translate maps it character by
# character.)
_SCRIPT_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"))


def plotly_js() -> str:
    """The plotly.js bundle that plotly.py ships (about 4.6 MB of JavaScript; read for each
    page, ~2 ms, rather than kept in memory for the process's life)."""
    return resources.files("plotly").joinpath("package_data", "plotly.min.js").read_text("utf-8")


def chart_html(figure: FigureSpec, div_id: str, first: bool) -> str:
    """`figure` drawn into a div with id `div_id`; plotly.js is inlined when `first`."""
    bundle = f"<script>{plotly_js()}</script>\n" if first else ""
    arguments = ", ".join(
        (json.dumps(div_id), _script_json(figure["data"]), _script_json(figure["layout"]))
    )
    return (
        f'{bundle}<div id="{div_id}" class="plotly-graph-div" '
        'style="height:100%; width:100%;"></div>\n'
        f"<script>Plotly.newPlot({arguments}, {json.dumps(PLOTLY_CONFIG)});</script>"
    )


def _script_json(value: object) -> str:
    """`value` as JSON safe inside a `<script>`; a non-finite float is `null` (a gap, as
    plotly.py wrote it: JSON has no NaN)."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(value), ensure_ascii=False, allow_nan=False)
    for character, escape in _SCRIPT_ESCAPES:
        text = text.replace(character, escape)
    return text


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
