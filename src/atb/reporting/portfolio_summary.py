"""The console summary of a portfolio backtest: a headline line, the account's tables, one row
per symbol, the warnings and where the files are; sized for a 100-column terminal.

As the single-symbol summary (`atb.reporting.summary`): `render_portfolio_summary` builds the
renderable, `print_portfolio_summary` prints it, and when the console is not a terminal the
tables use plain ASCII borders (rich drops colours itself), so piped output stays readable.
"""

from __future__ import annotations

import math

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from atb.reporting import display
from atb.reporting.portfolio_derived import (
    exit_reason_counts,
    rejection_counts,
    symbol_stats,
    window,
)
from atb.reporting.result_files import ResultFiles
from atb.reporting.summary import files_text, open_position_text, side_by_side, summary_table
from atb.results import PortfolioResult

__all__ = ["print_portfolio_summary", "render_portfolio_summary"]


def render_portfolio_summary(
    result: PortfolioResult, files: ResultFiles | None = None, *, plain: bool = False
) -> RenderableType:
    """The summary of `result` (and where its files are, when given) as one rich renderable;
    `plain=True` draws ASCII borders (for pipes, logs and dumb terminals)."""
    style = box.ASCII2 if plain else box.ROUNDED
    places = display.money_decimals(result.initial_balance)
    parts: list[RenderableType] = [_title(result), _headline(result)]
    parts.extend(Text(f"! {line}", style="bold yellow") for line in _warnings(result))
    parts.append(Text())
    parts.append(side_by_side(_performance_table(result, style), _costs_table(result, style)))
    parts.append(_symbols_table(result, style))
    parts.append(Text())
    parts.append(_ambiguity(result))
    for part in result.symbols:
        if part.open_position is not None:
            parts.append(open_position_text(part.open_position, places))
    if files is not None:
        parts.append(files_text(files))
    return Group(*parts)


def print_portfolio_summary(
    result: PortfolioResult, files: ResultFiles | None, console: Console
) -> None:
    """Print the summary of `result` and its files to `console` (plain ASCII borders when the
    console is not a terminal)."""
    console.print(render_portfolio_summary(result, files, plain=not console.is_terminal))


def _title(result: PortfolioResult) -> Text:
    strategy = result.strategy
    count = len(result.symbols)
    text = Text()
    text.append("Portfolio backtest ", style="bold")
    text.append(strategy.name, style="bold cyan")
    text.append(
        f" on {count} symbol{'s' if count != 1 else ''} {result.timeframe} ({result.quote_asset})",
        style="bold",
    )
    if any(part.data.synthetic for part in result.symbols):
        text.append("  SYNTHETIC DATA ", style="bold black on yellow")
    start, end = window(result)
    text.append(
        f"\n{display.when(start)} → {display.when(end)} · "
        f"{len(result.equity.times_ns):,d} bar times"
    )
    text.append(f"\nsymbols: {', '.join(part.symbol for part in result.symbols)}", style="dim")
    if strategy.parameters:
        params = ", ".join(
            f"{key}={strategy.parameters[key]}" for key in sorted(strategy.parameters)
        )
        text.append(f"\nparameters: {params}", style="dim")
    if strategy.model_id:
        overlap = " (training-window overlap allowed)" if strategy.overlap_allowed else ""
        text.append(f"\nmodel: {strategy.model_id}{overlap}", style="dim")
    return text


def _headline(result: PortfolioResult) -> Text:
    metrics = result.metrics
    places = display.money_decimals(result.initial_balance)
    text = Text("Return ", style="bold")
    text.append(display.pct(metrics.total_return))
    text.append(" · max drawdown ", style="bold")
    text.append(display.pct(metrics.max_drawdown))
    text.append(" · Sharpe ", style="bold")
    text.append(display.ratio(metrics.sharpe))
    text.append(" · trades ", style="bold")
    text.append(display.count(metrics.n_trades))
    text.append(" · final equity ", style="bold")
    text.append(f"{display.money(metrics.final_equity, places)} {result.quote_asset}".rstrip())
    return text


def _warnings(result: PortfolioResult) -> list[str]:
    # The engine words the missing-bar and synthetic-data warnings into `result.warnings`.
    lines = list(result.warnings)
    lines.extend(rejection.describe() for rejection in rejection_counts(result))
    for part in result.symbols:
        data = part.data
        if data.suspicious:
            lines.append(
                f"{part.symbol}: {len(data.suspicious)} bar(s) look like bad prints and were "
                f"kept (--drop-outliers removes them); first: {data.suspicious[0]}"
            )
        if data.dropped:
            lines.append(
                f"{part.symbol}: {len(data.dropped)} bar(s) dropped as bad prints; first: "
                f"{data.dropped[0]}"
            )
    return lines


def _performance_table(result: PortfolioResult, style: box.Box) -> Table:
    table = summary_table("Performance", style)
    places = display.money_decimals(result.initial_balance)
    for headline in display.HEADLINES:
        table.add_row(headline.label, headline.value(result.metrics, places))
    return table


def _costs_table(result: PortfolioResult, style: box.Box) -> Table:
    metrics = result.metrics
    places = display.money_decimals(result.initial_balance)
    quote = result.quote_asset
    table = summary_table("Costs and comparison" + (f" ({quote})" if quote else ""), style)
    table.add_row("Initial balance", display.money(result.initial_balance, places))
    table.add_row("Net profit", display.money(metrics.net_profit, places))
    table.add_row("Fees paid", display.money(metrics.total_fees, places))
    table.add_row("Slippage paid", display.money(metrics.total_slippage, places))
    table.add_row("Basket return", display.pct(metrics.buy_and_hold_return))
    table.add_row("Excess over basket", display.pct(metrics.excess_return))
    exposure = result.equity.exposure
    peak = float(exposure.max()) if exposure.size else None
    table.add_row("Max total exposure", display.pct(peak))
    table.add_row("Long / short", f"{metrics.long_trades:,d} / {metrics.short_trades:,d}")
    exits = exit_reason_counts(result)
    top = ", ".join(f"{reason} {number:,d}" for reason, number in list(exits.items())[:2])
    table.add_row("Top exits", top or "none")
    return table


def _symbols_table(result: PortfolioResult, style: box.Box) -> Table:
    places = display.money_decimals(result.initial_balance)
    quote = f" ({result.quote_asset})" if result.quote_asset else ""
    table = Table(title=f"Symbols{quote}", box=style, title_justify="left", title_style="bold")
    table.add_column("Symbol", no_wrap=True)
    table.add_column("Trades", justify="right")
    table.add_column("Win rate", justify="right")
    table.add_column("Contribution", justify="right")
    table.add_column("Fees", justify="right")
    table.add_column("Max exposure", justify="right")
    table.add_column("Missing bars", justify="right")
    table.add_column("Open", justify="right")
    for part in result.symbols:
        stats = symbol_stats(part)
        table.add_row(
            part.symbol,
            f"{stats.trades:,d}",
            display.pct(stats.win_rate),
            display.money(stats.contribution, places),
            display.money(stats.fees, places),
            display.pct(stats.max_exposure),
            f"{stats.missing_bars:,d}",
            stats.open_side or "-",
        )
    return table


def _ambiguity(result: PortfolioResult) -> Text:
    ambiguity = result.ambiguity
    places = display.money_decimals(result.initial_balance)
    text = Text("Ambiguous bars: ", style="bold")
    text.append(f"{ambiguity.bars:,d}")
    if ambiguity.bars and math.isfinite(ambiguity.pessimistic_pnl + ambiguity.optimistic_pnl):
        text.append(
            f" · net PnL {display.money(ambiguity.pessimistic_pnl, places)} (pessimistic) … "
            f"{display.money(ambiguity.optimistic_pnl, places)} (optimistic)"
        )
    return text
