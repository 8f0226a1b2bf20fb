"""Did-you-mean hints for unknown configuration sections and keys."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["did_you_mean"]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`"; did you mean 'slippage'?"` for the closest of `choices`, or `""` when none is close.

    Meant to end a parenthesised list of valid names in an error message.
    """
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
