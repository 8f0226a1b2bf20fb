"""`report.html`: one self-contained page with the run's headline numbers and four interactive
charts (plotly; plotly.js is inlined once, so the page works offline).

The page is deterministic: every chart div has a fixed id (plotly would otherwise draw a random
uuid), the figures are built from the result alone, and the run's wall-clock time is left out,
so the same result gives a byte-identical page and two runs of the same inputs do too.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable

from atb.reporting import display
from atb.reporting.assumptions import result_assumptions
from atb.reporting.chart_html import chart_html
from atb.reporting.charts import (
    drawdown_figure,
    equity_figure,
    monthly_returns_figure,
    price_figure,
)
from atb.reporting.derived import (
    close_only_latches,
    exit_reason_counts,
    rejection_counts,
    stop_moves,
    tier_changes,
)
from atb.reporting.figure_spec import FigureSpec
from atb.results import BacktestResult

CHART_IDS = ("atb-chart-price", "atb-chart-equity", "atb-chart-drawdown", "atb-chart-monthly")
"""The `id` of each chart's div, in page order."""

_CHARTS: tuple[Callable[[BacktestResult], FigureSpec], ...] = (
    price_figure,
    equity_figure,
    drawdown_figure,
    monthly_returns_figure,
)
REPORT_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
       color: #111827; background: #f9fafb; }
main { max-width: 1200px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 1.5rem; margin: 8px 0 4px; }
h2 { font-size: 1.1rem; margin: 24px 0 8px; }
.sub { color: #4b5563; margin: 0 0 12px; }
.banner { background: #facc15; color: #111827; font-weight: 700; text-align: center;
          padding: 10px; letter-spacing: 0.08em; }
.warnings { background: #fef3c7; border-left: 4px solid #f59e0b; padding: 8px 12px; }
.grid { display: flex; flex-wrap: wrap; gap: 16px; }
.grid > div { flex: 1 1 320px; }
table { border-collapse: collapse; background: #fff; width: 100%; font-size: 0.9rem; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e5e7eb; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.chart { background: #fff; margin: 16px 0; padding: 4px; border: 1px solid #e5e7eb; }
.assumptions { background: #fff; border: 1px solid #e5e7eb; padding: 8px 12px 8px 28px;
               line-height: 1.45; font-size: 0.9rem; }
footer { color: #6b7280; font-size: 0.8rem; margin-top: 32px; }
"""


def render_report(result: BacktestResult) -> str:
    """The full text of `report.html` for `result`."""
    data, strategy = result.data, result.strategy
    title = f"atb backtest: {strategy.name} on {data.symbol} {data.timeframe}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape_html(title)}</title>",
        f"<style>{REPORT_STYLE}</style>",
        "</head>",
        "<body>",
    ]
    if data.synthetic:
        parts.append(
            '<div class="banner" id="synthetic-banner">SYNTHETIC DATA: these candles are '
            "generated, not market history</div>"
        )
    parts.append("<main>")
    parts.append(f"<h1>{escape_html(title)}</h1>")
    parts.append(
        f'<p class="sub">{escape_html(display.when(data.start))} → '
        f"{escape_html(display.when(data.end))} · "
        f"{data.bars:,d} bars · initial balance "
        f"{escape_html(display.money(result.initial_balance, _places(result)))}</p>"
    )
    notes = [*result.warnings, *(r.describe() for r in rejection_counts(result))]
    if notes:
        items = "".join(f"<li>{escape_html(w)}</li>" for w in notes)
        parts.append(f'<div class="warnings"><ul>{items}</ul></div>')
    parts.append('<div class="grid">')
    parts.append(key_value_section("Performance", _headline_rows(result)))
    parts.append(key_value_section("Costs and comparison", _cost_rows(result)))
    parts.append(key_value_section("Exits by reason", _exit_rows(result)))
    parts.append("</div>")
    parts.append('<div class="grid">')
    parts.append(key_value_section("Data", _data_rows(result)))
    parts.append(key_value_section("Strategy", _strategy_rows(result)))
    parts.append("</div>")
    parts.append("<h2>Charts</h2>")
    for index, (chart_id, build) in enumerate(zip(CHART_IDS, _CHARTS, strict=True)):
        parts.append(f'<div class="chart">{chart_html(build(result), chart_id, index == 0)}</div>')
    parts.append(_assumptions_html(result))
    parts.append(
        f"<footer>atb {escape_html(result.run.atb_version)} · data fingerprint "
        f"{escape_html(data.fingerprint)}</footer>"
    )
    parts.extend(["</main>", "</body>", "</html>"])
    return "\n".join(parts) + "\n"


def escape_html(text: str) -> str:
    """`text` escaped for HTML content and attribute values."""
    return html.escape(text, quote=True)


def key_value_section(title: str, rows: Iterable[tuple[str, str]]) -> str:
    """A titled two-column table of (name, value) rows, values right-aligned."""
    body = "".join(
        f'<tr><th>{escape_html(k)}</th><td class="num">{escape_html(v)}</td></tr>' for k, v in rows
    )
    return f"<div><h2>{escape_html(title)}</h2><table>{body}</table></div>"


def _assumptions_html(result: BacktestResult) -> str:
    items = "".join(
        f"<li><strong>{escape_html(item.topic)}.</strong> {escape_html(item.text)}</li>"
        for item in result_assumptions(result)
    )
    return f'<h2 id="assumptions">Assumptions</h2><ul class="assumptions">{items}</ul>'


def _places(result: BacktestResult) -> int:
    return display.money_decimals(result.initial_balance)


def _headline_rows(result: BacktestResult) -> list[tuple[str, str]]:
    places = _places(result)
    return [(h.label, h.value(result.metrics, places)) for h in display.HEADLINES]


def _cost_rows(result: BacktestResult) -> list[tuple[str, str]]:
    metrics = result.metrics
    ambiguity = result.ambiguity
    places = _places(result)
    rejections = sum(rejection.count for rejection in rejection_counts(result))
    return [
        ("Net profit", display.money(metrics.net_profit, places)),
        ("Fees paid", display.money(metrics.total_fees, places)),
        ("Slippage paid", display.money(metrics.total_slippage, places)),
        ("Buy & hold return", display.pct(metrics.buy_and_hold_return)),
        ("Excess over hold", display.pct(metrics.excess_return)),
        (
            "Partial exits / scale-ins",
            f"{metrics.partial_exits_taken:,d} / {metrics.scale_ins_taken:,d}",
        ),
        (
            "Tier changes / stop moves",
            f"{len(tier_changes(result)):,d} / {len(stop_moves(result)):,d}",
        ),
        ("Close-only since", _close_only(result)),
        ("Ambiguous bars", f"{ambiguity.bars:,d}"),
        (
            "PnL range (pess. … opt.)",
            f"{display.money(ambiguity.pessimistic_pnl, places)} … "
            f"{display.money(ambiguity.optimistic_pnl, places)}",
        ),
        ("Rejected orders", f"{rejections:,d}"),
    ]


def _close_only(result: BacktestResult) -> str:
    latches = close_only_latches(result)
    return display.when(latches[0].time) if latches else "never"


def _exit_rows(result: BacktestResult) -> list[tuple[str, str]]:
    rows = [(reason, f"{n:,d}") for reason, n in exit_reason_counts(result).items()]
    if result.open_position is not None:
        position = result.open_position
        rows.append(
            (
                "still open (marked)",
                f"{position.position.side.value}, "
                f"net {display.money(position.net_pnl, _places(result))}",
            )
        )
    return rows or [("no trades", "0")]


def _data_rows(result: BacktestResult) -> list[tuple[str, str]]:
    data = result.data
    gaps = sum(gap[2] for gap in data.gaps)
    return [
        ("Symbol / timeframe", f"{data.symbol} / {data.timeframe}"),
        ("Instrument", result.instrument.instrument.describe()),
        ("Rules from", result.instrument.source),
        ("Window", f"{display.when(data.start)} → {display.when(data.end)}"),
        ("Bars (warm-up)", f"{data.bars:,d} ({data.warmup_bars:,d})"),
        ("Source", data.source + (" (synthetic)" if data.synthetic else "")),
        ("Gaps", f"{len(data.gaps):,d} ({gaps:,d} missing bars)"),
        ("Fingerprint", data.fingerprint[:16]),
    ]


def _strategy_rows(result: BacktestResult) -> list[tuple[str, str]]:
    strategy = result.strategy
    rows = [("Name", strategy.name)]
    rows.extend((key, str(strategy.parameters[key])) for key in sorted(strategy.parameters))
    if strategy.model_id is not None:
        overlap = " (training overlap allowed)" if strategy.overlap_allowed else ""
        rows.append(("Model", strategy.model_id + overlap))
    if result.closed_at_end:
        rows.append(("At end", "open position closed"))
    return rows
