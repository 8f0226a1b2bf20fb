"""Exceptions users can act on. The CLI prints their message on one line and exits with code 2.

Each subclass is also a `ValueError`, so library callers can catch the standard type.
"""

from __future__ import annotations


class AtbError(ValueError):
    """Base class: a problem with the user's input, named precisely in the message."""


class ConfigError(AtbError):
    """A configuration key or value is unknown or out of range (the message names the key)."""


class DataError(AtbError):
    """Market data is missing or invalid (the message names source, row and column)."""


class StrategyError(AtbError):
    """An unknown strategy or parameter, or a strategy that broke its contract."""


class InstrumentError(AtbError):
    """An instrument's rules are missing, malformed or cannot serve the run (names the symbol)."""


def keyed_message(section: str, names: list[str], message: str) -> str:
    """Turn a value object's message (`slippage must be ...`) into `costs.slippage: must be ...`.

    `names` are the fields that were set; the one the message starts with (possibly indexed, as
    in `exit_targets[0].size`) becomes the dotted key. With one field set and no match, that
    field is named; otherwise the section.
    """
    for name in sorted(names, key=len, reverse=True):
        for subject in (name, f"'{name}'"):
            if message.startswith(subject) and message[len(subject) : len(subject) + 1] in (
                " ",
                "[",
                ".",
            ):
                full, _, rest = message.partition(" ")
                return f"{section}.{full.strip(chr(39))}: {rest}"
    if len(names) == 1:
        return f"{section}.{names[0]}: {message}"
    return f"{section}: {message}"
