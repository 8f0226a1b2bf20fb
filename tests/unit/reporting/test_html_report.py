"""`report.html`: self-contained, the four chart divs, the synthetic banner, escaping,
determinism, and thinning of very long lines."""

from __future__ import annotations

import re

import numpy as np

from atb.reporting import display
from atb.reporting.charts import MAX_LINE_POINTS, line_indices, price_figure
from atb.reporting.html_report import CHART_IDS, render_report
from tests.support.figures import floats, plotly_dict
from tests.support.result_builder import build_result

_PLOTLY_BUNDLE_MARKER = "plotly.js v"  # the banner comment at the top of the inlined bundle


def test_page_has_the_four_charts_and_one_inlined_plotly() -> None:
    page = render_report(build_result())
    assert page.startswith("<!DOCTYPE html>")
    for chart_id in CHART_IDS:
        assert page.count(f'<div id="{chart_id}" class="plotly-graph-div"') == 1
        assert f'Plotly.newPlot("{chart_id}", ' in page
    assert page.count(_PLOTLY_BUNDLE_MARKER) == 1
    # Self-contained: nothing is fetched from the network.
    assert "<script src=" not in page
    assert 'src="http' not in page


def test_header_shows_headline_metrics_and_run_info() -> None:
    result = build_result()
    page = render_report(result)
    assert "atb backtest: sma_cross on BTCUSDT 4h" in page
    for headline in display.HEADLINES:
        assert f"<th>{headline.label}</th>" in page.replace("&amp;", "&")
        assert headline.value(result.metrics) in page
    assert '<th>fast</th><td class="num">10</td>' in page
    assert "still open (marked)" in page
    assert "-12.50 … 20.25" in page


def test_synthetic_banner_only_for_synthetic_data() -> None:
    synthetic = render_report(build_result(synthetic=True))
    assert 'id="synthetic-banner"' in synthetic
    assert "SYNTHETIC DATA" in synthetic
    assert "SYNTHETIC DATA" not in render_report(build_result())


def test_text_from_the_result_is_escaped() -> None:
    page = render_report(build_result(parameters={"note": "<script>alert(1)</script>"}))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_page_is_deterministic_without_random_ids() -> None:
    page = render_report(build_result())
    assert render_report(build_result()) == page
    uuid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    assert uuid.search(page.split(_PLOTLY_BUNDLE_MARKER)[0]) is None
    body_after_bundle = page[page.index('<div id="atb-chart-price"') :]
    assert uuid.search(body_after_bundle) is None
    assert "2025-01-01" not in page  # the run's wall-clock time stays out of the page


def test_price_chart_has_a_marker_per_leg_and_stop_move() -> None:
    figure = plotly_dict(price_figure(build_result()))
    names = [trace["name"] for trace in figure["data"]]
    assert names == [
        "close",
        "long entry",
        "short entry",
        "scale-in",
        "partial exit",
        "exit",
        "stop moved",
    ]
    counts = {trace["name"]: len(trace["x"]) for trace in figure["data"][1:]}
    # Two long entries (p1 and the open p3), one of each other leg kind but two exits.
    assert counts == {
        "long entry": 2,
        "short entry": 1,
        "scale-in": 1,
        "partial exit": 1,
        "exit": 2,
        "stop moved": 2,
    }


def test_line_thinning_keeps_extremes_and_ends() -> None:
    rng = np.random.default_rng(7)
    values = np.cumsum(rng.normal(size=250_000))
    keep = line_indices(values)
    assert keep.size <= MAX_LINE_POINTS + 2
    assert np.all(np.diff(keep) > 0)
    assert keep[0] == 0
    assert keep[-1] == values.size - 1
    assert int(np.argmin(values)) in keep
    assert int(np.argmax(values)) in keep
    short = np.arange(10, dtype=np.float64)
    assert line_indices(short).tolist() == list(range(10))


def test_long_run_report_is_thinned() -> None:
    result = build_result(n_bars=MAX_LINE_POINTS + 5_000)
    close_trace = plotly_dict(price_figure(result))["data"][0]
    times = floats(close_trace["x"])
    assert MAX_LINE_POINTS // 2 <= len(times) <= MAX_LINE_POINTS + 2
    assert len(floats(close_trace["y"])) == len(times)
