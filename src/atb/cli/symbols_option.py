"""`--symbols A,B,C`: the symbols of a portfolio command, as one option's text."""

from __future__ import annotations

import click

from atb.data.symbols import normalize_symbol

__all__ = ["parse_symbols"]


def parse_symbols(text: str) -> tuple[str, ...]:
    """`--symbols ETHBTC,LTCBTC` as normalised symbols; a usage error for an empty list or an
    empty item."""
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise click.UsageError(f"--symbols {text!r}: give comma-separated symbols, e.g. A,B,C")
    return tuple(normalize_symbol(item) for item in items)
