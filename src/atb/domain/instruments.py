"""Instrument rules: tick size, lot step and minimum notional, with the rounding every fill uses."""

from __future__ import annotations

import math
from functools import lru_cache

import attrs

from atb.domain.validation import finite_non_negative, finite_positive, non_empty_str


@lru_cache(maxsize=64)
def _decimals(step: float) -> int:
    """Number of decimals needed to print `step` exactly enough (0.001 -> 3, 5.0 -> 0)."""
    text = f"{step:.12f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


@attrs.frozen(slots=True)
class Instrument:
    """Exchange rules for one symbol.

    Prices live on a `tick_size` grid, quantities on a `lot_step` grid, and an order's notional
    (price × quantity) must reach `min_notional` (quote currency).
    """

    symbol: str = attrs.field(validator=non_empty_str)
    tick_size: float = attrs.field(validator=finite_positive)
    lot_step: float = attrs.field(validator=finite_positive)
    min_notional: float = attrs.field(validator=finite_non_negative)

    def round_price(self, price: float) -> float:
        """Round a price to the nearest tick; ties (as printed in decimal) round up.

        A relative nudge of 1e-9 ticks makes 100.005 (stored as 100.00499…) round like the
        decimal text a user reads, instead of depending on binary representation.
        """
        ticks = math.floor(price / self.tick_size + 0.5 + 1e-9)
        return round(ticks * self.tick_size, _decimals(self.tick_size))

    def round_price_up(self, price: float) -> float:
        """Round a price up to the tick grid (a buyer's slipped price never improves)."""
        ticks = math.ceil(price / self.tick_size - 1e-9)
        return round(ticks * self.tick_size, _decimals(self.tick_size))

    def round_price_down(self, price: float) -> float:
        """Round a price down to the tick grid (a seller's slipped price never improves)."""
        ticks = math.floor(price / self.tick_size + 1e-9)
        return round(ticks * self.tick_size, _decimals(self.tick_size))

    def snap_quantity(self, quantity: float) -> float:
        """Snap a quantity that should already be on the lot grid to the nearest lot.

        Differences of grid quantities pick up binary noise (0.3 − 0.2 = 0.0999…); snapping
        keeps an open position's quantity exactly on the grid.
        """
        lots = round(quantity / self.lot_step)
        return round(lots * self.lot_step, _decimals(self.lot_step))

    def round_quantity(self, quantity: float) -> float:
        """Round a quantity *down* to the lot step; never returns more than `quantity`.

        Float division can land a hair under an exact multiple (0.3 / 0.1 = 2.9999…), so the
        candidate one step up is tried and kept only if it does not exceed the input.
        """
        if quantity <= 0 or not math.isfinite(quantity):
            return 0.0
        step = self.lot_step
        decimals = _decimals(step)
        steps = math.floor(quantity / step)
        if round((steps + 1) * step, decimals) <= quantity:
            steps += 1
        rounded = round(steps * step, decimals)
        while rounded > quantity and steps > 0:
            steps -= 1
            rounded = round(steps * step, decimals)
        return max(rounded, 0.0)

    def meets_min_notional(self, price: float, quantity: float) -> bool:
        """True when an order of `quantity` at `price` is large enough to be accepted."""
        return quantity > 0 and price * quantity >= self.min_notional
