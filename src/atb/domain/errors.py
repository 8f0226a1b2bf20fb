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
