"""Portfolio risk: which new positions a portfolio admits at a bar time, and how large.

At a bar time every symbol's decision is known before any entry is sized (ADR 0017). The
`PortfolioGate` is then asked about each entry in symbol order and applies, in this order:

1. **max open positions** (`risk.max_positions`): the other symbols' holdings plus the entries
   already admitted at this time may not reach it — else the entry is refused;
2. **correlation control** (`correlation`): if the symbol's recent returns correlate at the
   threshold or above with another symbol held (or admitted at this time), the entry is cut to
   `reduce_to` of its size or refused;
3. **total exposure** (`risk.max_exposure`, `risk.max_leverage`): the entry is cut to the room
   the other symbols' holdings (their exposure at this close) and the entries admitted before it
   leave under the cap; no room refuses it.

A *holding* is an open position or an entry still waiting for its symbol's next bar (a symbol
without a bar at a time keeps its orders). Another symbol's position counts even when its own
decision closes it at the next open: the new position may fill before that close does, and no
moment may hold more than the caps. Only the deciding symbol's own position is left out — a
reversal closes it before the new one opens. The per-symbol cap (`risk.max_position`) and the
drawdown tier were applied to the fraction before the gate; the venue enforces the exposure cap
once more at the fill, with the prices of that moment (`AccountView.exposure_room`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import attrs

from atb.managers.correlation import ReturnsWindow
from atb.managers.risk_config import CorrelationAction, CorrelationPolicy, RiskLimits

__all__ = [
    "CORRELATED",
    "EXPOSURE_CAP",
    "MAX_POSITIONS",
    "Admission",
    "EntryGate",
    "PortfolioGate",
]

MAX_POSITIONS = "the portfolio holds its maximum of open positions"
CORRELATED = "correlated with an open position"
EXPOSURE_CAP = "the portfolio's exposure cap"


@attrs.frozen(slots=True)
class Admission:
    """The gate's answer: the fraction the entry may take, or why it is refused; `cuts` lists
    each rule that reduced it as (rule, fraction before, fraction after)."""

    fraction: float
    refusal: str | None = None
    detail: str = ""
    cuts: tuple[tuple[str, float, float], ...] = ()


class EntryGate(Protocol):
    """Asked once per new position, in symbol order, before it is sent."""

    def admit(self, symbol: str, fraction: float) -> Admission:
        """The entry's admitted fraction of equity (or a refusal)."""
        ...


class PortfolioGate:
    """The portfolio's rules for one bar time (see the module docstring)."""

    def __init__(
        self,
        limits: RiskLimits,
        correlation: CorrelationPolicy | None,
        held: Mapping[str, float],
        returns: ReturnsWindow | None,
    ) -> None:
        """`held`: each symbol's holding (in symbol order) with its exposure at this close
        (notional, or an entry's fraction, over the portfolio's equity)."""
        self._limits = limits
        self._correlation = correlation
        self._returns = returns
        self._held = dict(held)
        self._admitted: dict[str, float] = {}

    def admit(self, symbol: str, fraction: float) -> Admission:
        """Apply the rules to one entry and, when admitted, count it for the next ones."""
        others = [other for other in (*self._held, *self._admitted) if other != symbol]
        limit = self._limits.max_positions
        if limit is not None and len(others) >= limit:
            return Admission(0.0, MAX_POSITIONS, f"{len(others)} held of {limit}")
        cuts: list[tuple[str, float, float]] = []
        given = fraction
        correlated = self._most_correlated(symbol, others)
        policy = self._correlation
        if policy is not None and correlated is not None and correlated[1] >= policy.threshold:
            other, value = correlated
            detail = f"{value:.2f} with {other} (threshold {policy.threshold:g})"
            if policy.action is CorrelationAction.REFUSE:
                return Admission(0.0, CORRELATED, detail)
            reduced = given * policy.reduce_to
            cuts.append((f"{CORRELATED}: {detail}", given, reduced))
            given = reduced
        used = 0.0
        for other, exposure in (*self._held.items(), *self._admitted.items()):
            if other != symbol:
                used += exposure
        room = self._limits.exposure_cap - used
        if room <= 0.0:
            return Admission(0.0, EXPOSURE_CAP, f"{used:.4f} of equity held")
        if given > room:
            cuts.append((EXPOSURE_CAP, given, room))
            given = room
        self._admitted[symbol] = given
        return Admission(given, cuts=tuple(cuts))

    def _most_correlated(self, symbol: str, others: list[str]) -> tuple[str, float] | None:
        """The other holder whose returns correlate most with `symbol`'s, and by how much."""
        if self._correlation is None or self._returns is None:
            return None
        best: tuple[str, float] | None = None
        for other in others:
            value = self._returns.correlation(symbol, other)
            if value is not None and (best is None or value > best[1]):
                best = (other, value)
        return best
