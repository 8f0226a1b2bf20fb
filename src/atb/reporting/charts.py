"""The report's four plotly figures (plotly.js dicts, `atb.reporting.figure_spec`): price with
trade markers, equity vs buy-and-hold, drawdown, and monthly returns.

Times go to plotly as milliseconds since the epoch on `date` axes (UTC): numeric arrays are
written as compact base64 typed arrays, half the size of date strings, and plotly.js never
guesses a time zone. The price is a close line (the result carries closes, not full candles);
lines longer than `MAX_LINE_POINTS` are thinned to each bucket's minimum and maximum, so a
million-bar run still gives a report a browser opens quickly and no extreme is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt
from plotly.colors import diverging

from atb.domain.fills import FillKind
from atb.domain.sides import PositionSide
from atb.reporting import display
from atb.reporting.derived import (
    LegRow,
    buy_and_hold_equity,
    drawdown,
    leg_rows,
    monthly_returns,
    stop_moves,
)
from atb.reporting.figure_spec import (
    FigureSpec,
    TraceSpec,
    colorscale,
    figure,
    series,
    trace,
)
from atb.results import BacktestResult

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]

MAX_LINE_POINTS = 20_000
"""Longest line drawn point for point; longer ones keep each bucket's min and max."""

_NS_PER_MS = 1_000_000
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
HOVER_TEMPLATE = "%{text}<extra></extra>"
BASE_LAYOUT: dict[str, object] = {
    "margin": {"l": 60, "r": 20, "t": 90, "b": 40},
    "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    "hovermode": "closest",
}
TITLE_STYLE: dict[str, object] = {"x": 0, "xref": "paper", "y": 0.98, "yanchor": "top"}
DATE_AXIS: dict[str, object] = {"type": "date", "title": {"text": "time (UTC)"}}


def line_indices(values: FloatArray, max_points: int = MAX_LINE_POINTS) -> IndexArray:
    """Indices of the points to draw: all of them, or the first, the last, and the minimum
    and maximum of each of about `max_points // 2` equal buckets, in order."""
    n = int(values.size)
    if n <= max_points:
        return np.arange(n, dtype=np.intp)
    size = -(-n // (max_points // 2))  # bucket length, rounded up
    buckets = -(-n // size)
    # Pad with the last value to a whole number of buckets; a pick in the padding is clipped
    # back to the last real point, which has the same value.
    padded = np.concatenate((values, np.full(buckets * size - n, values[-1])))
    rows = padded.reshape(buckets, size)
    offsets = np.arange(buckets, dtype=np.intp) * size
    picks = np.concatenate(
        (
            [0, n - 1],
            offsets + np.argmin(rows, axis=1),
            offsets + np.argmax(rows, axis=1),
        )
    )
    result: IndexArray = np.unique(np.minimum(picks, n - 1).astype(np.intp))
    return result


def times_ms(times_ns: npt.ArrayLike) -> FloatArray:
    """Bar times (ns since the epoch) as the milliseconds a plotly `date` axis reads."""
    times = np.asarray(times_ns, dtype=np.int64)
    values: FloatArray = (times // _NS_PER_MS).astype(np.float64)
    return values


def _times_ms(result: BacktestResult) -> FloatArray:
    return times_ms(result.equity.times_ns)


def _ms(row: LegRow) -> float:
    return row.fill.time.timestamp() * 1000.0


def price_figure(result: BacktestResult) -> FigureSpec:
    """Close line with markers for entries, scale-ins, partial exits, exits and stop moves."""
    close = np.asarray(result.equity.close, dtype=np.float64)
    keep = line_indices(close)
    traces = [
        trace(
            "scatter",
            x=series(_times_ms(result)[keep]),
            y=series(close[keep]),
            name="close",
            mode="lines",
            line={"color": "#4b5563", "width": 1},
        )
    ]
    rows = list(leg_rows(result))
    for name, chosen, marker in _MARKER_GROUPS:
        picked = [row for row in rows if chosen(row)]
        if picked:
            traces.append(_marker_trace(name, picked, marker))
    moves = [event for event in stop_moves(result) if event.new_stop is not None]
    if moves:
        traces.append(
            trace(
                "scatter",
                x=[event.time.timestamp() * 1000.0 for event in moves],
                y=[event.new_stop for event in moves],
                name="stop moved",
                mode="markers",
                marker={"symbol": "line-ew-open", "size": 10, "color": "#b91c1c"},
                text=[
                    f"stop {display.price(event.old_stop)} → {display.price(event.new_stop)}"
                    f"<br>{event.cause} · {event.position_id}"
                    for event in moves
                ],
                hovertemplate=HOVER_TEMPLATE,
            )
        )
    title = f"{result.data.symbol} {result.data.timeframe} close and trades"
    return figure(
        traces,
        **BASE_LAYOUT,
        title={**TITLE_STYLE, "text": title},
        height=520,
        xaxis=DATE_AXIS,
        yaxis={"title": {"text": "price (quote)"}},
    )


def _is(kind: FillKind, side: PositionSide | None = None) -> Callable[[LegRow], bool]:
    def chosen(row: LegRow) -> bool:
        return row.fill.kind is kind and (side is None or row.side is side)

    return chosen


_MARKER_GROUPS: tuple[tuple[str, Callable[[LegRow], bool], dict[str, object]], ...] = (
    (
        "long entry",
        _is(FillKind.ENTRY, PositionSide.LONG),
        {"symbol": "triangle-up", "size": 11, "color": "#16a34a"},
    ),
    (
        "short entry",
        _is(FillKind.ENTRY, PositionSide.SHORT),
        {"symbol": "triangle-down", "size": 11, "color": "#dc2626"},
    ),
    ("scale-in", _is(FillKind.SCALE_IN), {"symbol": "cross", "size": 9, "color": "#2563eb"}),
    (
        "partial exit",
        _is(FillKind.PARTIAL_EXIT),
        {"symbol": "diamond", "size": 9, "color": "#f59e0b"},
    ),
    ("exit", _is(FillKind.EXIT), {"symbol": "x", "size": 10, "color": "#111827"}),
)


def _marker_trace(name: str, rows: Iterable[LegRow], marker: dict[str, object]) -> TraceSpec:
    picked = list(rows)
    return trace(
        "scatter",
        x=[_ms(row) for row in picked],
        y=[row.fill.price for row in picked],
        name=name,
        mode="markers",
        marker={**marker, "line": {"width": 1, "color": "#ffffff"}},
        text=[_leg_text(row) for row in picked],
        hovertemplate=HOVER_TEMPLATE,
    )


def _leg_text(row: LegRow) -> str:
    fill = row.fill
    state = "open position" if row.status == "open" else f"exit: {row.exit_reason}"
    return (
        f"{row.trade_id} · {row.side.value} · {fill.kind.value} ({state})<br>"
        f"{display.when(fill.time)}<br>{fill.action.value} {display.price(fill.quantity)} "
        f"@ {display.price(fill.price)}<br>fee {display.money(fill.fee)} · "
        f"slippage {display.money(fill.slippage)}<br>{fill.reason}"
    )


def equity_figure(result: BacktestResult) -> FigureSpec:
    """The strategy's equity and the initial balance held in the asset (buy and hold)."""
    hold = buy_and_hold_equity(
        np.asarray(result.equity.close, dtype=np.float64), result.initial_balance
    )
    return equity_chart(
        _times_ms(result),
        (np.asarray(result.equity.equity, dtype=np.float64), "strategy"),
        (hold, "buy and hold"),
        title="Equity vs buy and hold",
        unit="quote",
    )


def equity_chart(
    times: FloatArray,
    account: tuple[FloatArray, str],
    benchmark: tuple[FloatArray, str],
    *,
    title: str,
    unit: str,
) -> FigureSpec:
    """An account's equity line against a benchmark's (dashed), each a (values, name), both
    thinned to the union of their kept points (every extreme of either stays)."""
    (equity, equity_name), (held, held_name) = account, benchmark
    keep = np.union1d(line_indices(equity), line_indices(held))
    x = series(times[keep])
    lines = [
        trace(
            "scatter",
            x=x,
            y=series(equity[keep]),
            name=equity_name,
            mode="lines",
            line={"color": "#2563eb", "width": 1.5},
        ),
        trace(
            "scatter",
            x=x,
            y=series(held[keep]),
            name=held_name,
            mode="lines",
            line={"color": "#9ca3af", "width": 1.2, "dash": "dash"},
        ),
    ]
    return figure(
        lines,
        **BASE_LAYOUT,
        title={**TITLE_STYLE, "text": title},
        height=380,
        xaxis=DATE_AXIS,
        yaxis={"title": {"text": f"equity ({unit})"}},
    )


def drawdown_figure(result: BacktestResult) -> FigureSpec:
    """Drawdown from the running peak, in percent (0 at a peak, negative below it)."""
    equity = np.asarray(result.equity.equity, dtype=np.float64)
    return drawdown_chart(_times_ms(result), drawdown(equity, result.initial_balance))


def drawdown_chart(times: FloatArray, fraction: FloatArray) -> FigureSpec:
    """A drawdown (a fraction ≥ 0 below the running peak) drawn in percent below zero, as a
    filled red area."""
    under: FloatArray = -100.0 * fraction
    keep = line_indices(under)
    area = trace(
        "scatter",
        x=series(times[keep]),
        y=series(under[keep]),
        name="drawdown",
        mode="lines",
        fill="tozeroy",
        fillcolor="rgba(220, 38, 38, 0.25)",
        line={"color": "#dc2626", "width": 1},
    )
    return figure(
        [area],
        **BASE_LAYOUT,
        title={**TITLE_STYLE, "text": "Drawdown"},
        height=300,
        xaxis=DATE_AXIS,
        yaxis={"title": {"text": "drawdown (%)"}, "ticksuffix": "%"},
    )


def monthly_returns_figure(result: BacktestResult) -> FigureSpec:
    """A year × month heatmap of monthly equity returns, in percent."""
    months = monthly_returns(result)
    years = sorted({month.year for month in months})
    z: list[list[float | None]] = [[None] * 12 for _ in years]
    text: list[list[str]] = [[""] * 12 for _ in years]
    for month in months:
        row = years.index(month.year)
        value = month.value * 100.0
        if np.isfinite(value):
            z[row][month.month - 1] = value
            text[row][month.month - 1] = f"{value:.1f}%"
    return annotated_heatmap(
        z,
        text,
        columns=list(_MONTHS),
        rows=[str(year) for year in years],
        hover="%{y} %{x}: %{text}<extra></extra>",
        colours=diverging.RdYlGn,
        scale_title="%",
        title="Monthly returns",
        height=140 + 40 * max(len(years), 1),
    )


def annotated_heatmap(
    z: list[list[float | None]],
    text: list[list[str]],
    *,
    columns: list[str],
    rows: list[str],
    hover: str,
    colours: list[str],
    scale_title: str,
    title: str,
    height: int,
) -> FigureSpec:
    """A rows × columns heatmap centred on zero, each cell labelled with its `text`; columns
    along the top, rows downwards in the order given."""
    cells = trace(
        "heatmap",
        z=z,
        x=columns,
        y=rows,
        text=text,
        texttemplate="%{text}",
        hovertemplate=hover,
        colorscale=colorscale(colours),
        zmid=0.0,
        xgap=2,
        ygap=2,
        colorbar={"title": {"text": scale_title}},
    )
    return figure(
        [cells],
        **BASE_LAYOUT,
        title={**TITLE_STYLE, "text": title},
        height=height,
        yaxis={"type": "category", "autorange": "reversed"},
        xaxis={"type": "category", "side": "top"},
    )
