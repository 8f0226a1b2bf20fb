"""`atb strategies`: the built-in strategies with their parameters, defaults and ranges.

Its own module, importing only the registry (no pandas, no data layer): listing the
strategies is instant (ADR 0020).
"""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from atb.strategies.parameters import ParameterSpec
from atb.strategies.registry import BUILTINS


def _describe_range(spec: ParameterSpec) -> str:
    low = (
        "" if spec.minimum is None else f"{'>' if spec.exclusive_minimum else '≥'} {spec.minimum:g}"
    )
    high = "" if spec.maximum is None else f"≤ {spec.maximum:g}"
    text = ", ".join(part for part in (low, high) if part)
    return (
        f"{text}{', or None' if spec.nullable else ''}"
        if text
        else ("or None" if spec.nullable else "")
    )


@click.command("strategies")
def strategies_command() -> None:
    """List the built-in strategies with their parameters and defaults."""
    console = Console(highlight=False, soft_wrap=False)
    for name in sorted(BUILTINS):
        entry = BUILTINS[name]
        table = Table(title=f"[bold]{name}[/bold]: {entry.description}", title_justify="left")
        for heading in ("parameter", "default", "type / range", "description"):
            table.add_column(heading, overflow="fold")
        for spec in entry.parameters:
            kind = spec.kind.value
            bounds = _describe_range(spec)
            table.add_row(
                spec.name, repr(spec.default), f"{kind}, {bounds}" if bounds else kind,
                spec.description,
            )  # fmt: skip
        console.print(table)
    click.echo("Set parameters with --param name=value (None turns an optional one off).")
    click.echo("User strategies: pass package.module:attribute wherever a name is expected.")
