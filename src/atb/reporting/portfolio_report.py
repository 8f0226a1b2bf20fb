"""`report.html` of a portfolio backtest: one self-contained page with the account's headline
numbers, a row per symbol, five interactive charts (plotly.js inlined once, so the page works
offline), the warnings and the configuration.

The page follows the single-symbol report (`atb.reporting.html_report`): the same style sheet
and chart embedding, fixed chart div ids, nothing but the result in the figures and the run's
wall-clock time left out, so the same result always gives a byte-identical page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from atb.domain.events import CloseOnlyLatched
from atb.reporting import display
from atb.reporting.chart_html import chart_html
from atb.reporting.derived import FloatArray
from atb.reporting.figure_spec import FigureSpec
from atb.reporting.html_report import REPORT_STYLE, escape_html, key_value_section
from atb.reporting.jsonable import plain
from atb.reporting.portfolio_charts import (
    contribution_figure,
    correlation_figure,
    drawdown_figure,
    equity_figure,
    exposure_figure,
)
from atb.reporting.portfolio_derived import (
    event_counts,
    exit_reason_counts,
    rejection_counts,
    symbol_stats,
    window,
)
from atb.results import PortfolioResult

__all__ = ["PORTFOLIO_CHART_IDS", "SYMBOL_TABLE_ID", "render_portfolio_report", "symbol_row_id"]

PORTFOLIO_CHART_IDS = (
    "atb-chart-equity",
    "atb-chart-drawdown",
    "atb-chart-exposure",
    "atb-chart-correlation",
    "atb-chart-contribution",
)
"""The `id` of each chart's div, in page order."""

SYMBOL_TABLE_ID = "atb-symbols"
"""The `id` of the per-symbol table."""

_CHARTS: tuple[Callable[[PortfolioResult], FigureSpec], ...] = (
    equity_figure,
    drawdown_figure,
    exposure_figure,
    correlation_figure,
    contribution_figure,
)

_SYMBOL_COLUMNS = (
    "Symbol",
    "Trades",
    "Win rate",
    "Contribution",
    "Fees",
    "Ambiguous bars",
    "Missing bars",
    "Open position",
)


def symbol_row_id(symbol: str) -> str:
    """The `id` of a symbol's row in the per-symbol table: `symbol-<SYMBOL>`."""
    return f"symbol-{symbol}"


def render_portfolio_report(result: PortfolioResult) -> str:
    """The full text of a portfolio's `report.html` for `result`."""
    strategy = result.strategy
    count = len(result.symbols)
    title = (
        f"atb portfolio backtest: {strategy.name} on {count} symbol{'s' if count != 1 else ''} "
        f"{result.timeframe}"
    )
    start, end = window(result)
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
    if any(part.data.synthetic for part in result.symbols):
        parts.append(
            '<div class="banner" id="synthetic-banner">SYNTHETIC DATA: these candles are '
            "generated, not market history</div>"
        )
    parts.append("<main>")
    parts.append(f"<h1>{escape_html(title)}</h1>")
    parts.append(
        f'<p class="sub">{escape_html(", ".join(part.symbol for part in result.symbols))} · '
        f"{escape_html(display.when(start))} → {escape_html(display.when(end))} · "
        f"{len(result.equity.times_ns):,d} bar times · initial balance "
        f"{escape_html(_money(result, result.initial_balance))} "
        f"{escape_html(result.quote_asset)}</p>"
    )
    notes = [*result.warnings, *(r.describe() for r in rejection_counts(result))]
    if notes:
        items = "".join(f"<li>{escape_html(note)}</li>" for note in notes)
        parts.append(f'<div class="warnings" id="atb-warnings"><ul>{items}</ul></div>')
    parts.append('<div class="grid">')
    parts.append(key_value_section("Performance", _headline_rows(result)))
    parts.append(
        key_value_section(f"Costs and comparison ({result.quote_asset})", _cost_rows(result))
    )
    parts.append(key_value_section("Exits by reason", _exit_rows(result)))
    parts.append("</div>")
    parts.append("<h2>Symbols</h2>")
    parts.append(_symbol_table(result))
    parts.append("<h2>Charts</h2>")
    for index, (chart_id, build) in enumerate(zip(PORTFOLIO_CHART_IDS, _CHARTS, strict=True)):
        parts.append(f'<div class="chart">{chart_html(build(result), chart_id, index == 0)}</div>')
    parts.append("<h2>Data and rules</h2>")
    parts.append(_data_table(result))
    parts.append('<div class="grid">')
    parts.append(key_value_section("Strategy", _strategy_rows(result)))
    parts.append(key_value_section("Configuration", _config_rows(result.config)))
    parts.append("</div>")
    parts.append(f"<footer>atb {escape_html(result.run.atb_version)}</footer>")
    parts.extend(["</main>", "</body>", "</html>"])
    return "\n".join(parts) + "\n"


def _money(result: PortfolioResult, value: float | None) -> str:
    return display.money(value, display.money_decimals(result.initial_balance))


def _table(columns: Sequence[str], rows: Iterable[tuple[str, Sequence[str]]], table_id: str) -> str:
    """A table with a header row; each row is (its id, its cells); the first cell is a
    heading, the others numbers (right-aligned)."""
    head = "".join(f"<th>{escape_html(name)}</th>" for name in columns)
    body = "".join(
        f'<tr id="{escape_html(row_id)}"><th>{escape_html(cells[0])}</th>'
        + "".join(f'<td class="num">{escape_html(cell)}</td>' for cell in cells[1:])
        + "</tr>"
        for row_id, cells in rows
    )
    return (
        f'<table id="{escape_html(table_id)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def _symbol_table(result: PortfolioResult) -> str:
    rows: list[tuple[str, Sequence[str]]] = []
    for part in result.symbols:
        stats = symbol_stats(part)
        if part.open_position is None:
            open_text = "none"
        else:
            side = part.open_position.position.side.value
            open_text = f"{side}, net {_money(result, part.open_position.net_pnl)}"
        rows.append(
            (
                symbol_row_id(part.symbol),
                (
                    part.symbol,
                    f"{stats.trades:,d}",
                    display.pct(stats.win_rate),
                    _money(result, stats.contribution),
                    _money(result, stats.fees),
                    f"{stats.ambiguous_bars:,d}",
                    f"{stats.missing_bars:,d}",
                    open_text,
                ),
            )
        )
    return _table(_SYMBOL_COLUMNS, rows, SYMBOL_TABLE_ID)


def _data_table(result: PortfolioResult) -> str:
    rows: list[tuple[str, Sequence[str]]] = []
    for part in result.symbols:
        data = part.data
        gaps = sum(gap[2] for gap in data.gaps)
        rows.append(
            (
                f"data-{part.symbol}",
                (
                    part.symbol,
                    f"{display.when(data.start)} → {display.when(data.end)}",
                    f"{data.bars:,d} ({data.warmup_bars:,d})",
                    f"{len(data.gaps):,d} ({gaps:,d} missing bars)",
                    data.source + (" (synthetic)" if data.synthetic else ""),
                    f"{part.instrument.instrument.describe()} ({part.instrument.source})",
                    data.fingerprint[:16],
                ),
            )
        )
    columns = ("Symbol", "Window", "Bars (warm-up)", "Gaps", "Source", "Rules", "Fingerprint")
    return _table(columns, rows, "atb-data")


def _headline_rows(result: PortfolioResult) -> list[tuple[str, str]]:
    places = display.money_decimals(result.initial_balance)
    return [(h.label, h.value(result.metrics, places)) for h in display.HEADLINES]


def _cost_rows(result: PortfolioResult) -> list[tuple[str, str]]:
    metrics = result.metrics
    ambiguity = result.ambiguity
    exposure = result.equity.exposure
    counts = event_counts(result)
    rejections = sum(item.count for item in rejection_counts(result))
    latches = [event for _symbol, event in result.events if isinstance(event, CloseOnlyLatched)]
    return [
        ("Initial balance", _money(result, result.initial_balance)),
        ("Net profit", _money(result, metrics.net_profit)),
        ("Fees paid", _money(result, metrics.total_fees)),
        ("Slippage paid", _money(result, metrics.total_slippage)),
        ("Basket return (buy & hold)", display.pct(metrics.buy_and_hold_return)),
        ("Excess over basket", display.pct(metrics.excess_return)),
        ("Max / mean total exposure", _exposure_text(exposure)),
        (
            "Partial exits / scale-ins",
            f"{metrics.partial_exits_taken:,d} / {metrics.scale_ins_taken:,d}",
        ),
        (
            "Tier changes / stop moves",
            f"{counts.get('tier', 0):,d} / {counts.get('stop', 0):,d}",
        ),
        ("Close-only since", display.when(latches[0].time) if latches else "never"),
        ("Ambiguous bars", f"{ambiguity.bars:,d}"),
        (
            "PnL range (pess. … opt.)",
            f"{_money(result, ambiguity.pessimistic_pnl)} … "
            f"{_money(result, ambiguity.optimistic_pnl)}",
        ),
        ("Rejected orders", f"{rejections:,d}"),
    ]


def _exposure_text(exposure: FloatArray) -> str:
    values = np.asarray(exposure, dtype=np.float64)
    if values.size == 0:
        return display.NOT_AVAILABLE
    return f"{display.pct(float(values.max()))} / {display.pct(float(values.mean()))}"


def _exit_rows(result: PortfolioResult) -> list[tuple[str, str]]:
    rows = [(reason, f"{n:,d}") for reason, n in exit_reason_counts(result).items()]
    for part in result.symbols:
        if part.open_position is not None:
            rows.append(
                (
                    f"still open: {part.symbol} (marked)",
                    f"{part.open_position.position.side.value}, "
                    f"net {_money(result, part.open_position.net_pnl)}",
                )
            )
    return rows or [("no trades", "0")]


def _strategy_rows(result: PortfolioResult) -> list[tuple[str, str]]:
    strategy = result.strategy
    rows = [("Name", strategy.name)]
    rows.extend((key, str(strategy.parameters[key])) for key in sorted(strategy.parameters))
    if strategy.model_id is not None:
        overlap = " (training overlap allowed)" if strategy.overlap_allowed else ""
        rows.append(("Model", strategy.model_id + overlap))
    if result.closed_at_end:
        rows.append(("At end", "open positions closed"))
    return rows


def _config_rows(config: dict[str, object]) -> list[tuple[str, str]]:
    """Each setting as `section.key` and its JSON value; a section that is off is `off`."""
    rows: list[tuple[str, str]] = []
    for name, section_value in config.items():
        value = plain(section_value)
        if isinstance(value, dict):
            rows.extend((f"{name}.{key}", json.dumps(item)) for key, item in value.items())
        elif value is None:
            rows.append((name, "off"))
        else:
            rows.append((name, json.dumps(value)))
    return rows
