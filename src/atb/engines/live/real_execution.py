"""`RealExecution`: what a live session does around the kernel when its venue is an exchange.

- Before a **new** session is written, the account is read: base the session did not buy, or
  less quote than the session's starting balance, refuses the start with one line naming the
  asset and both amounts (`--adopt` leaves unexplained holdings outside the session and records
  that it did).
- At **start and restart**, the venue settles its journal with the exchange (`recover`), and
  the account is reconciled with the session's state plus the fills not yet applied: an
  unexplained difference refuses the start the same way.
- After **every stored bar** (and at start), the market orders decided at its close are sent
  and the position's protective orders are brought in line with the kernel's levels.

The account's balance arithmetic is spot's: the session holds its position's quantity of the
base asset and, of the quote asset, its cash minus the position's cost (the kernel books cash
margin style: fees and realized PnL only).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from atb.domain.bars import Bar
from atb.domain.errors import AtbError
from atb.domain.instruments import Instrument
from atb.domain.models import LivePosition
from atb.engines.driver import BarDriver
from atb.managers.kernel_state import KernelState
from atb.managers.order_journal import AccountBaseline, ExchangeTrade
from atb.venues.exchange.spot_client import SpotClient
from atb.venues.exchange.venue import ExchangeVenue

__all__ = ["AccountMismatchError", "RealExecution", "opening_baseline"]


class AccountMismatchError(AtbError):
    """The exchange account holds what the session cannot explain."""


class RealExecution:
    """The exchange side of one live session (see the module docstring)."""

    def __init__(self, venue: ExchangeVenue, *, adopt: bool = False) -> None:
        self.venue = venue
        self.adopt = adopt

    @property
    def instrument(self) -> Instrument:
        """The market's rules."""
        return self.venue.instrument

    # --- start, restart and every bar ----------------------------------------------------------

    def start(
        self,
        driver: BarDriver[LivePosition],
        state: KernelState[LivePosition],
        last_bar: Bar | None,
        last_time: datetime | None,
    ) -> str:
        """Settle the journal, reconcile the account, then act on the last stored bar.
        Returns what was adopted (empty when nothing was)."""
        self.venue.recover()
        adopted = self.reconcile(state, last_time)
        if last_bar is not None:
            self.after_bar(driver, state, last_bar)
        return adopted

    def after_bar(
        self, driver: BarDriver[LivePosition], state: KernelState[LivePosition], bar: Bar
    ) -> None:
        """Send the orders decided at `bar`'s close and protect the position that results."""
        resting, position_id, account = driver.open_next(state, bar)
        self.venue.protect(position_id, resting, account, bar.time)

    def reconcile(self, state: KernelState[LivePosition], last_time: datetime | None) -> str:
        """Compare the account with the session's state and its fills not yet applied; refuse
        an unexplained difference (or, adopting, record it as outside the session)."""
        baseline = self.venue.journal.baseline()
        if baseline is None:
            return ""
        pending = [
            trade
            for trade in self.venue.session_trades()
            if last_time is None or trade.time >= last_time + self.venue.bar_interval
        ]
        base_expected, quote_expected = _holdings(state, pending, self.instrument)
        totals = self.venue.client.balances()
        base_held = totals.get(baseline.base_asset, 0.0) - baseline.outside_base
        quote_held = totals.get(baseline.quote_asset, 0.0) - baseline.outside_quote
        buys = sum(1 for trade in self.venue.session_trades() if trade.side == "buy")
        base_gap = base_held - base_expected
        quote_gap = quote_held - quote_expected
        base_off = abs(base_gap) > self.instrument.lot_step * (1 + buys)
        quote_off = abs(quote_gap) > _quote_tolerance(quote_expected)
        if not base_off and not quote_off:
            return ""
        asset, held, expected = (
            (baseline.base_asset, base_held, base_expected)
            if base_off
            else (baseline.quote_asset, quote_held, quote_expected)
        )
        if not self.adopt:
            raise AccountMismatchError(
                f"{asset}: the exchange account holds {held + _outside(baseline, asset):.8g} "
                f"({held:.8g} for the session), the session expects {expected:.8g}; "
                "resolve it on the exchange, or pass --adopt to leave the difference outside "
                "the session"
            )
        note = f"{asset}: {held:.8g} held for the session where {expected:.8g} was expected"
        self.venue.journal.record_baseline(
            AccountBaseline(
                base_asset=baseline.base_asset,
                quote_asset=baseline.quote_asset,
                outside_base=baseline.outside_base + (base_gap if base_off else 0.0),
                outside_quote=baseline.outside_quote + (quote_gap if quote_off else 0.0),
                adopted="; ".join(part for part in (baseline.adopted, note) if part),
            )
        )
        return note


def opening_baseline(
    client: SpotClient, instrument: Instrument, initial_balance: float, *, adopt: bool
) -> AccountBaseline:
    """What the account holds outside a new session starting with `initial_balance` of quote;
    refuses holdings it cannot explain (unless adopting them)."""
    base, quote = _assets(instrument)
    totals = client.balances()
    base_total, quote_total = totals.get(base, 0.0), totals.get(quote, 0.0)
    if quote_total + _quote_tolerance(initial_balance) < initial_balance:
        raise AccountMismatchError(
            f"{quote}: the exchange account holds {quote_total:.8g}, the session needs "
            f"{initial_balance:.8g} (lower --initial-balance or fund the account)"
        )
    adopted = ""
    if base_total > instrument.lot_step:
        if not adopt:
            raise AccountMismatchError(
                f"{base}: the exchange account holds {base_total:.8g}, a new session expects 0 "
                "(sell it, or pass --adopt to leave it outside the session)"
            )
        adopted = f"{base}: {base_total:.8g} held before the session, left outside it"
    return AccountBaseline(
        base_asset=base,
        quote_asset=quote,
        outside_base=base_total,
        outside_quote=quote_total - initial_balance,
        adopted=adopted,
    )


def _assets(instrument: Instrument) -> tuple[str, str]:
    if not instrument.base_asset or not instrument.quote_asset:
        raise AtbError(
            f"{instrument.symbol}: the market's rules do not name its base and quote assets, "
            "which real trading needs to read the account"
        )
    return instrument.base_asset, instrument.quote_asset


def _quote_tolerance(amount: float) -> float:
    # Sums of many float fills: a millionth of the amount, at least a hundred-millionth.
    return max(1e-8, abs(amount) * 1e-6)


def _outside(baseline: AccountBaseline, asset: str) -> float:
    return baseline.outside_base if asset == baseline.base_asset else baseline.outside_quote


def _holdings(
    state: KernelState[LivePosition], pending: Sequence[ExchangeTrade], instrument: Instrument
) -> tuple[float, float]:
    """(base, quote) the session holds: its state, plus fills the kernel has not applied."""
    position = state.position
    base = 0.0 if position is None else position.quantity
    quote = state.cash - (0.0 if position is None else position.quantity * position.entry_price)
    for trade in pending:
        in_base = trade.commission if trade.commission_asset == instrument.base_asset else 0.0
        in_quote = trade.commission if trade.commission_asset == instrument.quote_asset else 0.0
        if trade.side == "buy":
            base += trade.quantity - in_base
            quote -= trade.quantity * trade.price + in_quote
        else:
            base -= trade.quantity + in_base
            quote += trade.quantity * trade.price - in_quote
    return base, quote
