"""Instrument rules: tick size, lot step, minimum quantity and order value, with the rounding
every fill uses, and the check that a market's rules can serve a run at all."""

from __future__ import annotations

import decimal
import math
from functools import lru_cache

import attrs

from atb.domain.errors import InstrumentError
from atb.domain.sides import PositionSide
from atb.domain.validation import finite_non_negative, finite_positive, non_empty_str

MAX_TICK_FRACTION = 0.001
"""The coarsest tick atb accepts, as a fraction of the lowest price traded (0.1 %): a coarser
grid moves stops, targets and slipped fills by more than the costs being modelled."""


@lru_cache(maxsize=256)
def _decimals(step: float) -> int:
    """Decimals of `step` as written (0.001 -> 3, 5.0 -> 0, 1e-14 -> 14).

    Taken from the shortest repr, so any step a float can hold gets its exact decimal count.
    """
    exponent = decimal.Decimal(repr(step)).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _optional_asset(
    _instance: object, attribute: attrs.Attribute[str | None], value: object
) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValueError(f"{attribute.name} must be a non-empty string or None, got {value!r}")


@attrs.frozen(slots=True)
class Instrument:
    """Exchange rules for one symbol.

    Prices live on a `tick_size` grid, quantities on a `lot_step` grid; an order must be at
    least `min_quantity` (base units) and its notional (price × quantity) at least
    `min_notional` (quote currency). `base_asset`/`quote_asset` name the two currencies when
    known (quote is the unit of cash, equity and fees).
    """

    symbol: str = attrs.field(validator=non_empty_str)
    tick_size: float = attrs.field(validator=finite_positive)
    lot_step: float = attrs.field(validator=finite_positive)
    min_notional: float = attrs.field(validator=finite_non_negative)
    min_quantity: float = attrs.field(default=0.0, validator=finite_non_negative)
    base_asset: str | None = attrs.field(default=None, validator=_optional_asset)
    quote_asset: str | None = attrs.field(default=None, validator=_optional_asset)

    def round_price(self, price: float) -> float:
        """Round a price to the nearest tick; ties (as printed in decimal) round up.

        A relative nudge of 1e-9 ticks makes 100.005 (stored as 100.00499…) round like the
        decimal text a user reads, instead of depending on binary representation.
        """
        ticks = math.floor(price / self.tick_size + 0.5 + 1e-9)
        return self._on_grid(ticks)

    def round_price_up(self, price: float) -> float:
        """Round a price up to the tick grid (a buyer's slipped price never improves)."""
        ticks = price / self.tick_size
        nearest = round(ticks)
        if self._on_grid(nearest) == price:
            return price
        return self._on_grid(math.ceil(ticks - 1e-9))

    def round_price_down(self, price: float) -> float:
        """Round a price down to the tick grid (a seller's slipped price never improves)."""
        ticks = price / self.tick_size
        nearest = round(ticks)
        if self._on_grid(nearest) == price:
            return price
        return self._on_grid(math.floor(ticks + 1e-9))

    def _on_grid(self, ticks: int) -> float:
        """The price of a whole number of ticks, as written with the tick's decimals. A price
        that *is* such a value stays itself when rounded up or down: at 3e7 ticks (a 300,000
        price on a 0.01 tick) dividing it by the tick can land a unit in the last place below
        the whole count, which a floor would turn into one tick less."""
        return round(ticks * self.tick_size, _decimals(self.tick_size))

    def round_stop(self, price: float, side: PositionSide) -> float:
        """Round a protective stop against the trader: a long's stop down, a short's up (it
        triggers later and fills worse, never better than the unrounded level)."""
        return (
            self.round_price_down(price)
            if side is PositionSide.LONG
            else self.round_price_up(price)
        )

    def round_target(self, price: float, side: PositionSide) -> float:
        """Round a level in the position's favour against the trader: a long's target (and
        scale-in threshold) up, a short's down (it is reached later, never sooner)."""
        return (
            self.round_price_up(price)
            if side is PositionSide.LONG
            else self.round_price_down(price)
        )

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
        # The float quotient is off by at most one step, so one step back is always enough
        # (a loop here once ran for minutes on a 1e-14 step whose decimals were miscounted).
        if rounded > quantity and steps > 0:
            rounded = round((steps - 1) * step, decimals)
        return max(rounded, 0.0)

    def meets_min_notional(self, price: float, quantity: float) -> bool:
        """True when an order of `quantity` at `price` is large enough to be accepted."""
        return self.order_problem(price, quantity) is None

    def order_problem(self, price: float, quantity: float) -> str | None:
        """Why an order of `quantity` at `price` would be refused, or None when it is fine.

        The text names the amounts and the rule, in the instrument's units, e.g.
        `order value 0.0009 BTC below the minimum 0.001 BTC`.
        """
        if quantity <= 0:
            return f"quantity rounds to 0 at lot step {self.lot_step:g}"
        if quantity < self.min_quantity:
            return (
                f"quantity {quantity:.10g}{self._unit(self.base_asset)} below the minimum "
                f"{self.min_quantity:g}{self._unit(self.base_asset)}"
            )
        value = price * quantity
        if value < self.min_notional:
            quote = self._unit(self.quote_asset)
            return f"order value {value:.6g}{quote} below the minimum {self.min_notional:g}{quote}"
        return None

    @staticmethod
    def _unit(asset: str | None) -> str:
        return f" {asset}" if asset else ""

    def describe(self) -> str:
        """The rules for people: `tick 0.01 USDT · lot 1e-05 BTC · min order 5 USDT`."""
        base, quote = self._unit(self.base_asset), self._unit(self.quote_asset)
        parts = [f"tick {self.tick_size:g}{quote}", f"lot {self.lot_step:g}{base}"]
        if self.min_quantity:
            parts.append(f"min qty {self.min_quantity:g}{base}")
        parts.append(f"min order {self.min_notional:g}{quote}")
        return " · ".join(parts)

    def check_prices(self, lowest: float, highest: float) -> None:
        """Refuse rules that cannot serve prices in [`lowest`, `highest`].

        The tick must be at most `MAX_TICK_FRACTION` of the lowest price, so no stop, target or
        slipped fill is moved by more than the costs being modelled (and none rounds to 0).
        Raises `InstrumentError` naming the symbol, the tick and the price.
        """
        if not (math.isfinite(lowest) and lowest > 0 and highest >= lowest):
            raise InstrumentError(
                f"instrument {self.symbol}: cannot check prices {lowest!r} … {highest!r}"
            )
        if self.tick_size > MAX_TICK_FRACTION * lowest:
            raise InstrumentError(
                f"instrument {self.symbol}: tick {self.tick_size:g} is "
                f"{self.tick_size / lowest:.2%} of the lowest price {lowest:.10g} (at most "
                f"{MAX_TICK_FRACTION:.1%} allowed); give the market's real tick "
                "(--tick-size or instruments.toml)"
            )

    def check_account(self, cash: float, position_cap: float, price: float) -> None:
        """Refuse rules under which an account of `cash` can never place an entry.

        The largest entry is `position_cap` × `cash` at a typical `price` of the run: if it
        rounds to 0 at the lot step, or falls below the minimum quantity or order value, the
        run's entries would all be refused. Raises `InstrumentError` naming the amounts.
        """
        largest = self.round_quantity(position_cap * cash / price)
        problem = self.order_problem(price, largest)
        if problem is not None:
            raise InstrumentError(
                f"instrument {self.symbol}: even the largest entry ({position_cap:g} × "
                f"balance {cash:g} at price {price:.10g}) is refused: {problem}; raise "
                "--initial-balance or risk.max_position, or check the instrument's rules"
            )
