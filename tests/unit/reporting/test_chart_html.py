"""`chart_html`: a figure's div and its `Plotly.newPlot` call, plotly.js inlined once."""

from __future__ import annotations

import json
import math

import plotly.offline

from atb.reporting.chart_html import PLOTLY_CONFIG, chart_html, plotly_js
from atb.reporting.figure_spec import figure, trace
from tests.support.figures import page_figures


def test_the_first_chart_inlines_plotly_s_own_bundle_and_the_others_reuse_it() -> None:
    spec = figure([trace("scatter", x=[1, 2], y=[3.0, 4.0])])
    first = chart_html(spec, "chart-0", first=True)
    later = chart_html(spec, "chart-1", first=False)
    assert plotly_js() == plotly.offline.get_plotlyjs()
    assert first.startswith(f"<script>{plotly_js()}</script>\n")
    assert "plotly.js v" not in later
    assert '<div id="chart-1" class="plotly-graph-div"' in later
    assert later.endswith(f", {json.dumps(PLOTLY_CONFIG)});</script>")
    assert page_figures(first) == page_figures(later) == [spec]


def test_text_that_would_close_the_script_is_escaped_and_reads_back_unchanged() -> None:
    title = "a </script><script>alert(1)</script> & <!-- b"
    spec = figure([trace("scatter", x=[1], y=[2.0], name=title)], title={"text": title})
    html = chart_html(spec, "chart-0", first=False)
    assert html.count("</script>") == 1  # the call's own closing tag
    assert "<!--" not in html
    assert page_figures(html) == [spec]


def test_a_non_finite_value_is_drawn_as_a_gap() -> None:
    spec = figure([trace("scatter", x=[1, 2, 3], y=[1.0, math.nan, -math.inf])])
    (drawn,) = page_figures(chart_html(spec, "chart-0", first=False))
    assert drawn["data"][0]["y"] == [1.0, None, None]
