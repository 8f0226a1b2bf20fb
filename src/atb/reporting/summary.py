"""The console summary of a backtest: rich tables sized for a 100-column terminal.

`render_summary` builds the renderable (so callers and tests can print or record it);
`print_summary` prints it. When the console is not a terminal the tables use plain ASCII
borders, and rich itself drops colours, so piped output stays readable text.
"""

from __future__ import annotations

import math

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from atb.reporting import display
from atb.reporting.derived import (
    clamped_fills,
    close_only_latches,
    exit_reason_counts,
    rejection_counts,
    stop_moves,
    tier_changes,
)
from atb.reporting.result_files import ResultFiles
from atb.results import BacktestResult, OpenPosition

_MAX_TIER_ROWS = 8
"""Tier changes listed one by one; beyond this the summary says how many more there were."""


def render_summary(
    result: BacktestResult,
    files: ResultFiles | None = None,
    *,
    plain: bool = False,
    heading: str = "Backtest",
) -> RenderableType:
    """The summary of `result` (and where its files are, when given) as one rich renderable.

    `plain=True` draws ASCII borders (for pipes, logs and dumb terminals); `heading` starts the
    title (`Backtest`, or e.g. `Live session 3` for a live session's summary).
    """
    style = box.ASCII2 if plain else box.ROUNDED
    parts: list[RenderableType] = [_title(result, heading)]
    parts.extend(_warnings(result))
    parts.append(Text())
    parts.append(side_by_side(_headline_table(result, style), _costs_table(result, style)))
    parts.append(side_by_side(_exit_table(result, style), _risk_table(result, style)))
    parts.append(Text())
    parts.append(_ambiguity(result))
    if result.open_position is not None:
        places = display.money_decimals(result.initial_balance)
        parts.append(open_position_text(result.open_position, places))
    if files is not None:
        parts.append(files_text(files))
    return Group(*parts)


def print_summary(
    result: BacktestResult,
    files: ResultFiles | None = None,
    console: Console | None = None,
    *,
    heading: str = "Backtest",
) -> None:
    """Print the summary to `console` (default: a new stdout console)."""
    console = console or Console()
    console.print(render_summary(result, files, plain=not console.is_terminal, heading=heading))


def _title(result: BacktestResult, heading: str) -> Text:
    data, strategy = result.data, result.strategy
    text = Text()
    text.append(f"{heading} ", style="bold")
    text.append(strategy.name, style="bold cyan")
    text.append(f" on {data.symbol} {data.timeframe}", style="bold")
    if data.synthetic:
        text.append("  SYNTHETIC DATA ", style="bold black on yellow")
    text.append(f"\n{display.when(data.start)} → {display.when(data.end)} · {data.bars:,d} bars")
    text.append(f"\ndata: {data.source}", style="dim")
    for note in data.notes:
        text.append(f"\nnote: {note}", style="dim")
    instrument = result.instrument
    text.append(
        f"\ninstrument: {instrument.instrument.describe()} ({instrument.source})", style="dim"
    )
    if strategy.parameters:
        params = ", ".join(
            f"{key}={strategy.parameters[key]}" for key in sorted(strategy.parameters)
        )
        text.append(f"\nparameters: {params}", style="dim")
    if strategy.model_id:
        overlap = " (training-window overlap allowed)" if strategy.overlap_allowed else ""
        text.append(f"\nmodel: {strategy.model_id}{overlap}", style="dim")
    return text


def _warnings(result: BacktestResult) -> list[Text]:
    # The engine already words the synthetic-data and overlap warnings into `result.warnings`;
    # the title carries the SYNTHETIC tag, so nothing is repeated here.
    lines = list(result.warnings)
    lines.extend(rejection.describe() for rejection in rejection_counts(result))
    data = result.data
    if data.suspicious:
        lines.append(
            f"{len(data.suspicious)} bar(s) look like bad prints and were kept (--drop-outliers "
            f"removes them); first: {data.suspicious[0]}"
        )
    if data.dropped:
        lines.append(f"{len(data.dropped)} bar(s) dropped as bad prints; first: {data.dropped[0]}")
    if result.zero_volume_fills:
        lines.append(f"{result.zero_volume_fills} fill(s) on bars that traded nothing (volume 0)")
    if result.data.gaps:
        missing = sum(gap[2] for gap in result.data.gaps)
        lines.append(f"{len(result.data.gaps)} data gap(s), {missing:,d} missing bar(s)")
    return [Text(f"! {line}", style="bold yellow") for line in lines]


def summary_table(title: str, style: box.Box) -> Table:
    """A titled two-column table (names, right-aligned values) of the closing summary."""
    table = Table(title=title, box=style, title_justify="left", title_style="bold")
    table.add_column("", no_wrap=True)
    table.add_column("", justify="right", no_wrap=True)
    table.show_header = False
    return table


def side_by_side(left: Table, right: Table) -> Table:
    """Two tables next to each other, top-aligned."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(vertical="top")
    grid.add_column(vertical="top")
    grid.add_row(left, right)
    return grid


def _headline_table(result: BacktestResult, style: box.Box) -> Table:
    table = summary_table("Performance", style)
    places = display.money_decimals(result.initial_balance)
    for headline in display.HEADLINES:
        table.add_row(headline.label, headline.value(result.metrics, places))
    return table


def _costs_table(result: BacktestResult, style: box.Box) -> Table:
    metrics = result.metrics
    places = display.money_decimals(result.initial_balance)
    quote = result.instrument.instrument.quote_asset
    table = summary_table("Costs and comparison" + (f" ({quote})" if quote else ""), style)
    table.add_row("Initial balance", display.money(result.initial_balance, places))
    table.add_row("Net profit", display.money(metrics.net_profit, places))
    table.add_row("Fees paid", display.money(metrics.total_fees, places))
    table.add_row("Slippage paid", display.money(metrics.total_slippage, places))
    table.add_row("Fills clamped to bar", display.count(clamped_fills(result)))
    table.add_row("Buy & hold return", display.pct(metrics.buy_and_hold_return))
    table.add_row("Excess over hold", display.pct(metrics.excess_return))
    table.add_row("Partial exits", display.count(metrics.partial_exits_taken))
    table.add_row("Scale-ins", display.count(metrics.scale_ins_taken))
    table.add_row("Long / short", f"{metrics.long_trades:,d} / {metrics.short_trades:,d}")
    return table


def _exit_table(result: BacktestResult, style: box.Box) -> Table:
    table = Table(title="Exits by reason", box=style, title_justify="left", title_style="bold")
    table.add_column("Reason")
    table.add_column("Trades", justify="right")
    table.add_column("Net PnL", justify="right")
    counts = exit_reason_counts(result)
    places = display.money_decimals(result.initial_balance)
    pnl = dict.fromkeys(counts, 0.0)
    for trade in result.trades:
        pnl[trade.exit_reason] += trade.pnl
    for reason, number in counts.items():
        table.add_row(reason, f"{number:,d}", display.money(pnl[reason], places))
    if not counts:
        table.add_row("no closed trades", "0", display.money(0.0, places))
    return table


def _risk_table(result: BacktestResult, style: box.Box) -> Table:
    table = Table(title="Dynamic risk", box=style, title_justify="left", title_style="bold")
    table.add_column("Time")
    table.add_column("Tier", justify="right")
    table.add_column("Size ×", justify="right")
    table.add_column("Drawdown", justify="right")
    changes = tier_changes(result)
    for event in changes[:_MAX_TIER_ROWS]:
        table.add_row(
            display.when(event.time),
            f"{event.old_tier} → {event.new_tier}",
            display.ratio(event.factor),
            display.pct(event.drawdown),
        )
    if len(changes) > _MAX_TIER_ROWS:
        table.add_row(f"… {len(changes) - _MAX_TIER_ROWS} more", "", "", "")
    if not changes:
        table.add_row("no tier changes", "", "", "")
    moves = len(stop_moves(result))
    table.caption = f"{len(changes)} tier change(s) · {moves} stop move(s)"
    latches = close_only_latches(result)
    if latches:
        table.caption += f"\nclose-only since {display.when(latches[0].time)} (max drawdown hit)"
    table.caption_justify = "left"
    return table


def _ambiguity(result: BacktestResult) -> Text:
    ambiguity = result.ambiguity
    places = display.money_decimals(result.initial_balance)
    text = Text("Ambiguous bars: ", style="bold")
    text.append(f"{ambiguity.bars:,d}")
    if ambiguity.bars and not math.isfinite(ambiguity.pessimistic_pnl + ambiguity.optimistic_pnl):
        # A live session's store keeps the count, not the other intrabar order's outcome.
        text.append(" · PnL range not recorded")
    elif ambiguity.bars:
        text.append(
            f" · net PnL {display.money(ambiguity.pessimistic_pnl, places)} (pessimistic) … "
            f"{display.money(ambiguity.optimistic_pnl, places)} (optimistic)"
        )
    return text


def open_position_text(open_position: OpenPosition, places: int) -> Text:
    """The summary's line for a position still open at the end."""
    position = open_position.position
    text = Text("Open position: ", style="bold")
    text.append(
        f"{position.side.value} {display.price(position.quantity)} {position.symbol} "
        f"@ {display.price(position.entry_price)} since {display.when(position.entry_time)}; "
        f"marked at {display.price(open_position.mark_price)}, "
        f"unrealized {display.money(open_position.unrealized_pnl, places)}, "
        f"net {display.money(open_position.net_pnl, places)} (listed as open, not closed)"
    )
    return text


def files_text(files: ResultFiles) -> Text:
    """The summary's list of the files written."""
    text = Text("Files: ", style="bold")
    text.append(str(files.directory))
    for path in (files.result_json, files.trades_csv, files.equity):
        text.append(f"\n  {path.name}")
    text.append("\nReport: ", style="bold")
    text.append(str(files.report_html), style="underline")
    return text
