"""Profit-and-loss arithmetic on positions and legs, in quote currency.

One formula everywhere: PnL = side.sign × (exit − entry) × quantity. Entry prices are averaged
by quantity when a position scales in (average-cost accounting).
"""

from __future__ import annotations

from atb.domain.sides import PositionSide


def leg_pnl(side: PositionSide, entry_price: float, exit_price: float, quantity: float) -> float:
    """Gross realized PnL of closing `quantity` at `exit_price` against an average entry."""
    return side.sign * (exit_price - entry_price) * quantity


def unrealized_pnl(side: PositionSide, entry_price: float, quantity: float, mark: float) -> float:
    """Gross PnL of the open `quantity` if it were closed at `mark` (no fees, no slippage)."""
    return side.sign * (mark - entry_price) * quantity


def average_entry(
    entry_price: float, quantity: float, added_price: float, added_quantity: float
) -> float:
    """Quantity-weighted entry price after adding `added_quantity` at `added_price`.

    The result always lies between the two prices (clamped, so float rounding cannot push it a
    hair outside).
    """
    total = quantity + added_quantity
    if total <= 0:
        raise ValueError(f"total quantity must be > 0, got {total!r}")
    blended = (entry_price * quantity + added_price * added_quantity) / total
    low, high = min(entry_price, added_price), max(entry_price, added_price)
    return min(max(blended, low), high)


def move_from(side: PositionSide, reference: float, price: float) -> float:
    """Favourable move of `price` from `reference` as a fraction (+0.02 = 2 % in the money)."""
    return side.sign * (price - reference) / reference
