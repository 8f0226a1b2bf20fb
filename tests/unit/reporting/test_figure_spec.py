"""The report figures are the dicts plotly.py would build: validating them through
`plotly.graph_objects.Figure` changes nothing, and a page draws what plotly.py's own HTML
would draw."""

from __future__ import annotations

from collections.abc import Callable

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from atb.reporting import html_report
from atb.reporting.chart_html import PLOTLY_CONFIG, chart_html
from atb.reporting.charts import (
    MAX_LINE_POINTS,
    drawdown_figure,
    equity_figure,
    monthly_returns_figure,
    price_figure,
)
from atb.reporting.figure_spec import TEMPLATE_NAME, FigureSpec, colorscale, template
from atb.results import BacktestResult
from tests.support.figures import (
    assert_page_figures_are_valid,
    page_figures,
    plotly_dict,
    same_figure,
)
from tests.support.result_builder import build_result

CHARTS: tuple[Callable[[BacktestResult], FigureSpec], ...] = (
    price_figure,
    equity_figure,
    drawdown_figure,
    monthly_returns_figure,
)


@pytest.mark.parametrize("build", CHARTS, ids=lambda build: build.__name__)
@pytest.mark.parametrize("bars", [300, MAX_LINE_POINTS + 500])
def test_each_report_figure_is_already_what_plotly_validation_gives(
    build: Callable[[BacktestResult], FigureSpec], bars: int
) -> None:
    spec = build(build_result(n_bars=bars))
    assert same_figure(spec, plotly_dict(spec))


def test_a_chart_s_html_draws_what_plotly_writes_for_its_figure_object() -> None:
    spec = price_figure(build_result())
    ours = chart_html(spec, "atb-chart-price", first=False)
    theirs = pio.to_html(
        go.Figure(spec), config=PLOTLY_CONFIG, include_plotlyjs=False,
        full_html=False, div_id="atb-chart-price",
    )  # fmt: skip
    # The same data and layout (plotly.py orders the keys of each object alphabetically; the
    # page keeps the order the figure was built in), in the same div.
    assert page_figures(ours) == page_figures(theirs)
    assert 'id="atb-chart-price"' in ours
    assert '"bdata":' in ours  # numeric series as compact base64 typed arrays


def test_the_report_page_draws_four_valid_figures() -> None:
    page = html_report.render_report(build_result())
    assert_page_figures_are_valid(page, count=4)


def test_the_template_is_plotly_s_own() -> None:
    assert (
        template()
        == go.Figure({"layout": {"template": TEMPLATE_NAME}}).to_dict()["layout"]["template"]
    )


def test_a_colorscale_spreads_its_colours_from_zero_to_one() -> None:
    assert colorscale(["#000", "#888", "#fff"]) == [[0.0, "#000"], [0.5, "#888"], [1.0, "#fff"]]
