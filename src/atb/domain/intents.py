"""What an order is for, and why a position ended: typed outcomes (free text only as detail)."""

from __future__ import annotations

import enum


class OrderIntent(enum.Enum):
    """What a market order is for."""

    OPEN_LONG = "open long"
    OPEN_SHORT = "open short"
    CLOSE = "close"
    SWAP_POLICIES = "swap policies"


class ExitReason(enum.Enum):
    """Why a position was closed; the trade's `exit_reason` text says it in words (the
    strategy's own reason for a signal exit, the rule for a time exit)."""

    SIGNAL = "signal"
    REVERSAL = "reversal"
    STOP_LOSS = "stop loss"
    BREAKEVEN_STOP = "breakeven stop"
    TRAILING_STOP = "trailing stop"
    TAKE_PROFIT = "take profit"
    PARTIALS_COMPLETE = "partial exits complete"
    TIME_EXIT = "time exit"
    END_OF_DATA = "end of data"
    FLATTEN = "flatten"
    """Closed on request, outside the strategy: `atb live stop --flatten`, `--max-daily-loss`."""

    @classmethod
    def from_text(cls, text: str) -> ExitReason:
        """The reason behind an exit text written before reasons were typed (stored trades and
        orders of older stores): the rule names, `reverse: …`, the time rules, else a signal."""
        for reason in cls:
            if text == reason.value:
                return reason
        if text.startswith("reverse: "):
            return cls.REVERSAL
        if text in _TIME_TEXTS:
            return cls.TIME_EXIT
        return cls.SIGNAL


_TIME_TEXTS = frozenset({"max holding time", "weekend flat", "daily flat"})
