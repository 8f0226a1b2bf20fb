"""The portfolio report's plotly figures: the account's equity vs the equal-weight basket held,
drawdown, exposure by symbol (stacked), the symbols' return correlations and each symbol's
contribution.

Conventions of the single-symbol charts (`atb.reporting.charts`): times as epoch
milliseconds on `date` axes (UTC), the same layout and colours, and lines longer than
`MAX_LINE_POINTS` thinned with `line_indices` (each bucket's minimum and maximum kept, so no
extreme is lost). The stacked exposure keeps the union of every symbol's (and the total's)
picks, so all its traces share one x axis.
"""

from __future__ import annotations

import numpy as np
from plotly.colors import diverging

from atb.reporting import display
from atb.reporting.charts import (
    BASE_LAYOUT,
    DATE_AXIS,
    HOVER_TEMPLATE,
    TITLE_STYLE,
    FloatArray,
    IndexArray,
    annotated_heatmap,
    drawdown_chart,
    equity_chart,
    line_indices,
    times_ms,
)
from atb.reporting.figure_spec import (
    FigureSpec,
    TraceSpec,
    figure,
    series,
    trace,
)
from atb.reporting.portfolio_derived import basket_equity, portfolio_drawdown
from atb.results import PortfolioResult

__all__ = [
    "contribution_figure",
    "correlation_figure",
    "drawdown_figure",
    "equity_figure",
    "exposure_figure",
    "exposure_keep",
]

_PALETTE = (
    "#2563eb",
    "#f59e0b",
    "#16a34a",
    "#dc2626",
    "#7c3aed",
    "#0891b2",
    "#db2777",
    "#65a30d",
    "#ea580c",
    "#4b5563",
)
"""Colours of the symbols, in symbol order (repeating after ten)."""


def _times_ms(result: PortfolioResult) -> FloatArray:
    return times_ms(result.equity.times_ns)


def _colour(index: int) -> str:
    return _PALETTE[index % len(_PALETTE)]


def equity_figure(result: PortfolioResult) -> FigureSpec:
    """The account's equity and the initial balance held in the equal-weight basket."""
    return equity_chart(
        _times_ms(result),
        (np.asarray(result.equity.equity, dtype=np.float64), "portfolio"),
        (basket_equity(result), "equal-weight basket (buy and hold)"),
        title="Equity vs the equal-weight basket",
        unit=result.quote_asset or "quote",
    )


def drawdown_figure(result: PortfolioResult) -> FigureSpec:
    """The account's drawdown from its running peak, in percent (0 at a peak, negative
    below)."""
    return drawdown_chart(_times_ms(result), portfolio_drawdown(result))


def exposure_keep(result: PortfolioResult) -> IndexArray:
    """The bar indices the exposure chart draws: the union of `line_indices` of the total and
    of each symbol's exposure (every line keeps its extremes; all share one x axis)."""
    keep = line_indices(np.asarray(result.equity.exposure, dtype=np.float64))
    for part in result.symbols:
        keep = np.union1d(keep, line_indices(np.asarray(part.exposure, dtype=np.float64)))
    indices: IndexArray = keep.astype(np.intp)
    return indices


def exposure_figure(result: PortfolioResult) -> FigureSpec:
    """Each symbol's exposure (|notional| / equity), in percent, stacked in symbol order: each
    band is one symbol's, the top of the stack the total exposure (hover: the symbol's own)."""
    keep = exposure_keep(result)
    times = series(_times_ms(result)[keep])
    traces: list[TraceSpec] = []
    stacked: FloatArray = np.zeros(keep.size, dtype=np.float64)
    for index, part in enumerate(result.symbols):
        values: FloatArray = 100.0 * np.asarray(part.exposure, dtype=np.float64)[keep]
        stacked = stacked + values
        traces.append(
            trace(
                "scatter",
                x=times,
                y=series(stacked),
                name=part.symbol,
                mode="lines",
                fill="tozeroy" if index == 0 else "tonexty",
                line={"color": _colour(index), "width": 0.8},
                text=[f"{part.symbol}: {value:.2f}%" for value in values.tolist()],
                hovertemplate=HOVER_TEMPLATE,
            )
        )
    return figure(
        traces,
        **BASE_LAYOUT,
        title={**TITLE_STYLE, "text": "Exposure by symbol (stacked)"},
        height=340,
        xaxis=DATE_AXIS,
        yaxis={"title": {"text": "exposure (% of equity)"}, "ticksuffix": "%"},
    )


def correlation_figure(result: PortfolioResult) -> FigureSpec:
    """A symbols × symbols heatmap of the correlation of their bar returns over the window,
    each cell annotated with its value (blank where too few common returns gave none)."""
    symbols = [part.symbol for part in result.symbols]
    z: list[list[float | None]] = []
    text: list[list[str]] = []
    for row in result.correlation:
        z.append([value if value is not None and np.isfinite(value) else None for value in row])
        text.append(["" if value is None else f"{value:.2f}" for value in z[-1]])
    # Red for moving together, blue for apart; zmid 0 with the diagonal's 1.0 spans the scale
    # over −1 … 1.
    return annotated_heatmap(
        z,
        text,
        columns=symbols,
        rows=symbols,
        hover="%{y} × %{x}: %{text}<extra></extra>",
        colours=diverging.RdBu_r,
        scale_title="ρ",
        title="Correlation of bar returns",
        height=200 + 40 * max(len(symbols), 1),
    )


def contribution_figure(result: PortfolioResult) -> FigureSpec:
    """Each symbol's contribution to the account (net PnL of its closed trades plus its open
    position's marked net PnL), as a bar from zero, labelled: green a gain, red a loss."""
    places = display.money_decimals(result.initial_balance)
    traces: list[TraceSpec] = []
    labels: list[dict[str, object]] = []
    for part in result.symbols:
        value = part.contribution
        label = display.money(value, places)
        # A bar drawn as a thick vertical line from zero on the category axis.
        traces.append(
            trace(
                "scatter",
                x=[part.symbol, part.symbol],
                y=[0.0, value],
                name=part.symbol,
                mode="lines",
                line={"color": "#16a34a" if value >= 0 else "#dc2626", "width": 36},
                text=[f"{part.symbol}: {label}"] * 2,
                hovertemplate=HOVER_TEMPLATE,
                showlegend=False,
            )
        )
        labels.append(
            {
                "x": part.symbol,
                "y": value,
                "text": label,
                "showarrow": False,
                "yshift": 12 if value >= 0 else -12,
            }
        )
    values = [part.contribution for part in result.symbols if np.isfinite(part.contribution)]
    low, high = min([0.0, *values]), max([0.0, *values])
    pad = 0.2 * (high - low) or 1.0  # room for the labels; any range when all are zero
    return figure(
        traces,
        **BASE_LAYOUT,
        title={**TITLE_STYLE, "text": "Contribution by symbol"},
        height=320,
        annotations=labels,
        xaxis={"type": "category", "range": [-0.5, len(result.symbols) - 0.5]},
        yaxis={
            "title": {"text": f"net PnL ({result.quote_asset or 'quote'})"},
            "range": [low - pad, high + pad],
            "zeroline": True,
        },
    )
