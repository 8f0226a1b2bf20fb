"""`ExchangeVenue`: the kernel's `ExecutionVenue` on a real spot exchange, journal first.

The kernel asks the same questions of every venue; this one answers from the exchange:

- `submit` (a market order decided at a close): the order is written to the journal, then
  sent under its kernel order id as client id, and its fills come back from the exchange. The
  live engine submits as soon as the deciding bar is stored (`BarDriver.open_next`), so the
  order trades at the next bar's open as the backtest assumes; when the kernel steps that bar,
  `submit` finds the journalled fills and returns them without sending anything again.
- `walk`/`execute` (the resting levels along a bar): the exchange held the position's
  protective orders (`protect`) while the bar traded; the fills it made inside the bar are the
  levels reached, in the order they happened, with their real price, quantity and fee.
- `protect`: after each bar, the orders resting on the exchange are made to match the kernel's
  levels (`atb.venues.exchange.protection`): unchanged ones stay, changed ones (a trailing stop
  that moved) are cancelled, then the new ones are placed — each cancel and each order written
  to the journal before it is sent.
- `recover` (start and restart): orders the journal wrote but cannot confirm are looked up by
  client id (never sent twice), cancels that were decided are finished, and every fill since is
  fetched.

The exchange's trades become the kernel's fills in `atb.venues.exchange.trade_folding`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import attrs

from atb.domain.bars import Bar
from atb.domain.fills import Liquidity
from atb.domain.instruments import Instrument
from atb.domain.sides import PositionSide
from atb.managers.costs import CostCalculator
from atb.managers.execution import (
    AccountView,
    LevelReached,
    RestingOrder,
    RestingWalk,
    VenueFill,
    VenueOrder,
    VenueRejection,
    VenueReport,
)
from atb.managers.fills import LevelKind
from atb.managers.order_journal import (
    ExchangeOrder,
    ExchangeTrade,
    FillPair,
    JournalStatus,
    OrderShape,
)
from atb.managers.orders import MarketOrder, OrderIntent
from atb.ports import OrderJournal
from atb.venues.exchange.protection import PlannedLeg, PlannedOrder, protection_plan
from atb.venues.exchange.spot_client import OrderRefusedError, RemoteOrder, SpotClient
from atb.venues.exchange.trade_folding import fold_trades
from atb.venues.simulated import SimulatedVenue

__all__ = ["MAX_ORDER_VALUE", "MISSED", "NOTHING_TO_SELL", "SPOT_NO_SHORTS", "ExchangeVenue"]

SPOT_NO_SHORTS = "a spot account cannot sell short"
MAX_ORDER_VALUE = "order value above --max-order-value"
MISSED = "missed: its bar traded while the session was down"
NOTHING_TO_SELL = "nothing left to sell: the exchange already closed the position"

_SHAPE_TYPES = {OrderShape.MARKET: "market", OrderShape.LIMIT: "limit"}
_LEVEL_CODES = {
    LevelKind.STOP_LOSS: "sl",
    LevelKind.TAKE_PROFIT: "tp",
    LevelKind.PARTIAL_EXIT: "px",
    LevelKind.SCALE_IN: "si",
}

Log = Callable[..., None]


class ExchangeVenue:
    """One symbol of a spot account, for one session (see the module docstring)."""

    def __init__(
        self,
        *,
        client: SpotClient,
        journal: OrderJournal,
        costs: CostCalculator,
        bar_interval: timedelta,
        log: Log | None = None,
        max_order_value: float | None = None,
        id_prefix: str | None = None,
        model: SimulatedVenue | None = None,
    ) -> None:
        self.client = client
        self.journal = journal
        self.costs = costs
        self.bar_interval = bar_interval
        self.log = log or _silent
        self.max_order_value = max_order_value
        """A rail, in quote: a buy worth more is refused before it is sent (sells, which only
        ever reduce the position, are never held back)."""
        self.id_prefix = id_prefix
        self.model = model
        """The simulated venue of the session's config: what it would have filled is stored
        beside each real fill (fill quality)."""
        """The session's client id prefix: an open order carrying it that the journal does not
        know is an orphan (a store restored from an old copy) and is cancelled at recovery."""
        self._orders: dict[str, ExchangeOrder] = {o.client_id: o for o in journal.orders()}
        self._trades: dict[str, ExchangeTrade] = {t.trade_id: t for t in journal.trades()}
        self._refreshed_for: datetime | None = None
        self.market_time: datetime | None = None
        """The exchange's clock as last seen (set by the engine at each poll): an entry whose
        bar has already closed by it was missed while atb was down and is not sent."""

    @property
    def instrument(self) -> Instrument:
        """The market's rules."""
        return self.costs.instrument

    # --- the ExecutionVenue port -------------------------------------------------------------

    def submit(
        self, order: MarketOrder, reference: float, time: datetime, bar: Bar, account: AccountView
    ) -> Sequence[VenueReport]:
        """Execute a market order on the exchange (once: a journalled order is not resent)."""
        sent = self._orders.get(order.order_id)
        if sent is None or sent.status is JournalStatus.INTENT:
            sent = self._send_market(order, reference, account)
        if sent.status is JournalStatus.REJECTED:
            return (VenueRejection(order, sent.detail.split(": ", 1)[0], sent.detail),)
        trades = self._trades_of((sent.client_id,))
        if not trades:
            return ()
        real = fold_trades(
            order,
            trades,
            time=time,
            liquidity=Liquidity.TAKER,
            account=account,
            instrument=self.instrument,
        )
        model = None
        if self.model is not None:
            model = _first_fill(self.model.submit(order, reference, time, bar, account))
        self._record_pair(f"market:{order.order_id}", real, trades, model, time)
        return (real,)

    def cancel(self, order: VenueOrder) -> Sequence[VenueReport]:
        """Nothing to do: protective orders are replaced by `protect`, not by the kernel."""
        return ()

    def walk(
        self, orders: Sequence[RestingOrder], path: Bar, side: PositionSide, *, reverse: bool
    ) -> RestingWalk:
        """The levels the exchange filled while `path` traded, in the order it filled them
        (the exchange knows the real path: never ambiguous)."""
        if not orders:
            return RestingWalk((), False)
        self.refresh(path.time)
        by_key = {order.key: order for order in orders}
        reached: list[LevelReached] = []
        seen: set[tuple[LevelKind, int]] = set()
        for trade in self._resting_trades(orders[0].position_id, path):
            key = self._orders[trade.client_id].key
            if key is not None and key not in by_key:
                # Filled on the exchange, but no longer one of the kernel's levels (a scale-in
                # after a partial target in the same bar): reconciliation will name it.
                self.log("unplanned_fill", client_id=trade.client_id, qty=trade.quantity)
            if key is None or key in seen or key not in by_key:
                continue
            seen.add(key)
            reached.append(LevelReached(by_key[key], trade.price, False))
        return RestingWalk(tuple(reached), False)

    def execute(
        self, order: RestingOrder, price: float, path: Bar, account: AccountView
    ) -> Sequence[VenueReport]:
        """The exchange's fills of `order`'s level inside `path`, as one fill."""
        trades = [
            trade
            for trade in self._resting_trades(order.position_id, path)
            if self._orders[trade.client_id].key == order.key
        ]
        if not trades:
            return ()
        liquidity = Liquidity.MAKER if order.level.kind.is_limit else Liquidity.TAKER
        real = fold_trades(
            order,
            trades,
            time=path.time,
            liquidity=liquidity,
            account=account,
            instrument=self.instrument,
        )
        self._record_pair(
            f"{order.level.kind.value}:{order.level.rung}",
            real,
            trades,
            self._modelled(order, path, account),
            path.time,
        )
        return (real,)

    def open_orders(self) -> Sequence[VenueOrder]:
        """Protective orders are the venue's own (see `protect`); the kernel rests none here."""
        return ()

    def balance(self) -> float | None:
        """The account's total of the quote asset."""
        return self.client.balances().get(self.instrument.quote_asset or "", 0.0)

    # --- keeping the exchange in step --------------------------------------------------------

    def protect(
        self,
        position_id: str | None,
        orders: Sequence[RestingOrder],
        account: AccountView,
        planned_at: datetime,
    ) -> None:
        """Make the orders resting on the exchange hold exactly `orders` (the levels of the
        position `position_id`, or none when flat): keep what matches, cancel the rest, place
        what is missing."""
        wanted = list(protection_plan(orders, self.instrument, account))
        keep: set[str] = set()
        for group in self._live_groups():
            legs = [self._orders[client_id] for client_id in group]
            match = next(
                (plan for plan in wanted if _matches(plan, legs, position_id)),
                None,
            )
            if match is not None:
                wanted.remove(match)
                keep.update(group)
        stale = [order.client_id for order in self._live() if order.client_id not in keep]
        for client_id in stale:
            order = self._orders[client_id]
            if order.status.live:  # not already ended by cancelling its OCO sibling
                self._cancel(order)
        if position_id is None or not wanted:
            return
        position = account.position
        assert position is not None
        if self.session_base() < position.quantity - self.instrument.lot_step / 2:
            # The exchange sold some of it already (fills the kernel has not applied yet: a
            # restart after downtime). Selling what the session no longer holds could only
            # sell someone else's coins: protect again once the kernel has caught up.
            self.log("protection_deferred", position_id=position_id)
            return
        for plan in wanted:
            self._place(position_id, plan, planned_at)

    def session_base(self) -> float:
        """The base asset the session holds on the exchange: the account's total less what it
        held outside the session when the session started."""
        baseline = self.journal.baseline()
        outside = 0.0 if baseline is None else baseline.outside_base
        base = self.instrument.base_asset or ""
        return self.client.balances().get(base, 0.0) - outside

    def recover(self) -> None:
        """After a start or a crash: settle every order the journal cannot vouch for, then
        fetch every fill. Orders written but never acknowledged are looked up by client id:
        known ones are kept, unknown ones were never sent (abandoned, not resent)."""
        for order in list(self._orders.values()):
            if order.status is JournalStatus.INTENT:
                remote = self.client.lookup(order.client_id)
                if remote is None and order.kernel_order_id is not None:
                    continue  # a market order never sent: sent (same id) when the kernel asks
                if remote is None:
                    self._journal(order.now(JournalStatus.ABANDONED, detail="never reached"))
                    self.log("order_abandoned", client_id=order.client_id)
                else:
                    self._journal(_update(order, remote))
            elif order.status is JournalStatus.CANCEL_INTENT:
                self._cancel(order)
        self._cancel_orphans()
        self._refreshed_for = None
        self.refresh(None)

    def _cancel_orphans(self) -> None:
        """Cancel the session's open orders its journal does not know (rule: cancel, never
        adopt: atb cannot know what such an order was for)."""
        prefix = self.id_prefix
        if prefix is None:
            return
        for remote in self.client.open_orders():
            client_id = remote.client_id
            if client_id.startswith(f"{prefix}-") and client_id not in self._orders:
                self.client.cancel(client_id)
                self.log("orphan_cancelled", client_id=client_id)

    def refresh(self, bar_time: datetime | None) -> None:
        """Fetch the session's fills and settle resting orders that ended (once per bar)."""
        if bar_time is not None and bar_time == self._refreshed_for:
            return
        self._refreshed_for = bar_time
        by_exchange_id = {
            order.exchange_id: order.client_id
            for order in self._orders.values()
            if order.exchange_id is not None
        }
        fresh = [t for t in self.client.trades(by_exchange_id) if t.trade_id not in self._trades]
        changed: dict[str, ExchangeOrder] = {}
        for trade in fresh:
            self._trades[trade.trade_id] = trade
        open_ids = {remote.client_id for remote in self.client.open_orders()}
        for order in self._orders.values():
            if order.status is not JournalStatus.OPEN or order.client_id in open_ids:
                continue
            remote = self.client.lookup(order.client_id)
            if remote is not None and remote.status is not JournalStatus.OPEN:
                changed[order.client_id] = _update(order, remote)
        if fresh or changed:
            self.journal.record_trades(fresh, list(changed.values()))
            self._orders.update(changed)
            for trade in fresh:
                self.log(
                    "exchange_fill",
                    client_id=trade.client_id,
                    side=trade.side,
                    price=trade.price,
                    qty=trade.quantity,
                )

    def was_sent(self, kernel_order_id: str) -> bool:
        """True when the market order may have reached the exchange (journalled, not refused)."""
        order = self._orders.get(kernel_order_id)
        return order is not None and order.status is not JournalStatus.REJECTED

    def session_trades(self) -> list[ExchangeTrade]:
        """Every fill of the session, as journalled."""
        return list(self._trades.values())

    def live_orders(self) -> list[ExchangeOrder]:
        """The journal's orders that may rest on the exchange."""
        return self._live()

    # --- internals ---------------------------------------------------------------------------

    def _modelled(self, order: RestingOrder, path: Bar, account: AccountView) -> VenueFill | None:
        """The simulated venue's fill of `order` on `path` (None: the model would not reach it)."""
        model, position = self.model, account.position
        if model is None or position is None:
            return None
        walk = model.walk((order,), path, position.side, reverse=False)
        if not walk.reached:
            return None
        return _first_fill(model.execute(order, walk.reached[0].price, path, account))

    def _record_pair(
        self,
        slot: str,
        real: VenueFill,
        trades: Sequence[ExchangeTrade],
        model: VenueFill | None,
        bar_time: datetime,
    ) -> None:
        self.journal.record_fill_pair(
            FillPair(
                bar_time=bar_time,
                client_id=trades[0].client_id,
                slot=slot,
                side=trades[0].side,
                liquidity=real.liquidity.value,
                real_price=real.price,
                real_quantity=real.quantity,
                real_fee=real.fee,
                real_time=min(trade.time for trade in trades),
                simulated_price=None if model is None else model.price,
                simulated_quantity=None if model is None else model.quantity,
                simulated_fee=None if model is None else model.fee,
            )
        )

    def _send_market(
        self, order: MarketOrder, reference: float, account: AccountView
    ) -> ExchangeOrder:
        position = account.position
        if order.intent is OrderIntent.OPEN_SHORT:
            return self._refuse_unsent(order, SPOT_NO_SHORTS, "spot")
        if order.intent is not OrderIntent.CLOSE and self._missed(order):
            # Its bar traded while atb was down: entering now would be another trade. (A late
            # exit still goes out: it only ever reduces the risk.)
            detail = f"meant for the bar opening {order.created_at + self.bar_interval}"
            self.log("order_missed", client_id=order.order_id, detail=detail)
            return self._refuse_unsent(order, MISSED, detail)
        if order.intent is OrderIntent.CLOSE:
            if position is None:
                return self._refuse_unsent(order, "no open position to close", "")
            # The protective orders hold the base: take them off before selling it.
            self.protect(None, (), account, order.created_at)
            # Never more than the session holds: a late exit (after downtime) may find the
            # exchange's stop already sold it, and the rest of the account is not ours to sell.
            held = self.instrument.round_quantity(max(0.0, self.session_base()))
            side, quantity = "sell", min(self.instrument.round_quantity(position.quantity), held)
            if quantity <= 0:
                return self._refuse_unsent(order, NOTHING_TO_SELL, f"the session holds {held:g}")
        else:
            side = "buy"
            equity = account.equity(reference)
            quantity = self.costs.entry_quantity(order.fraction or 0.0, equity, reference)
        problem = self.instrument.order_problem(reference, quantity)
        if problem is not None:
            return self._refuse_unsent(order, "order below the instrument's minimum", problem)
        value = quantity * reference
        if side == "buy" and self.max_order_value is not None and value > self.max_order_value:
            detail = f"{value:.2f} > {self.max_order_value:.2f} {self.instrument.quote_asset}"
            self.log(
                "order_refused", client_id=order.order_id, reason=MAX_ORDER_VALUE, detail=detail
            )
            return self._refuse_unsent(order, MAX_ORDER_VALUE, detail)
        intent = self._orders.get(order.order_id) or ExchangeOrder(
            client_id=order.order_id,
            position_id=None,
            kernel_order_id=order.order_id,
            level=None,
            rung=0,
            list_id=None,
            side=side,
            shape=OrderShape.MARKET,
            quantity=quantity,
            price=None,
            stop_price=None,
            status=JournalStatus.INTENT,
            exchange_id=None,
            created_at=order.created_at,
        )
        # An intent journalled before a crash is sent as it was written (the journal decides).
        self._journal(intent)  # on disk before it is sent
        try:
            remote = self.client.place(intent.client_id, intent.side, "market", intent.quantity)
        except OrderRefusedError as refusal:
            refused = intent.now(JournalStatus.REJECTED, detail=f"exchange refused: {refusal}")
            self._journal(refused)
            self.log("order_rejected", client_id=intent.client_id, reason=str(refusal))
            return refused
        self._journal(_update(intent, remote))
        self._refreshed_for = None
        self.refresh(None)
        return self._orders[intent.client_id]

    def _missed(self, order: MarketOrder) -> bool:
        meant_for = order.created_at + self.bar_interval
        now = self.market_time
        return now is not None and now >= meant_for + self.bar_interval

    def _refuse_unsent(self, order: MarketOrder, reason: str, detail: str) -> ExchangeOrder:
        refused = ExchangeOrder(
            client_id=order.order_id,
            position_id=None,
            kernel_order_id=order.order_id,
            level=None,
            rung=0,
            list_id=None,
            side="buy",
            shape=OrderShape.MARKET,
            quantity=0.0,
            price=None,
            stop_price=None,
            status=JournalStatus.REJECTED,
            exchange_id=None,
            created_at=order.created_at,
            detail=f"{reason}: {detail}" if detail else reason,
        )
        self._journal(refused)
        return refused

    def _place(self, position_id: str, plan: PlannedOrder, planned_at: datetime) -> None:
        buying = sum(leg.quantity * leg.price for leg in plan.legs if leg.side == "buy")
        if self.max_order_value is not None and buying > self.max_order_value:
            self.log("protection_refused", position_id=position_id, reason=MAX_ORDER_VALUE)
            return
        legs = [self._intent(position_id, leg, planned_at) for leg in plan.legs]
        if plan.is_list:
            list_id = f"{legs[0].client_id}-L"
            legs = [attrs.evolve(leg, list_id=list_id) for leg in legs]
        self.journal.write(legs)  # on disk before they are sent
        self._orders.update({leg.client_id: leg for leg in legs})
        try:
            if plan.is_list:
                limit, stop = legs
                assert stop.stop_price is not None
                assert stop.price is not None
                assert limit.price is not None
                assert limit.list_id is not None
                remote_legs = self.client.place_oco(
                    limit.list_id,
                    side=limit.side,
                    quantity=limit.quantity,
                    limit_id=limit.client_id,
                    limit_price=limit.price,
                    stop_id=stop.client_id,
                    stop_price=stop.stop_price,
                    stop_limit=stop.price,
                )
                self._journal(_update(limit, remote_legs[0]), _update(stop, remote_legs[1]))
            else:
                (leg,) = legs
                remote = self.client.place(
                    leg.client_id,
                    leg.side,
                    _SHAPE_TYPES.get(leg.shape, "STOP_LOSS_LIMIT"),
                    leg.quantity,
                    price=leg.price,
                    stop_price=leg.stop_price,
                )
                self._journal(_update(leg, remote))
        except OrderRefusedError as refusal:
            self._journal(
                *(
                    leg.now(JournalStatus.REJECTED, detail=f"exchange refused: {refusal}")
                    for leg in legs
                )
            )
            self.log("protection_refused", client_id=legs[0].client_id, reason=str(refusal))

    def _intent(self, position_id: str, leg: PlannedLeg, planned_at: datetime) -> ExchangeOrder:
        stem = f"{position_id}-{_LEVEL_CODES[leg.level]}{leg.rung}-"
        number = 1 + sum(1 for client_id in self._orders if client_id.startswith(stem))
        return ExchangeOrder(
            client_id=f"{stem}{number}",
            position_id=position_id,
            kernel_order_id=None,
            level=leg.level,
            rung=leg.rung,
            list_id=None,
            side=leg.side,
            shape=leg.shape,
            quantity=leg.quantity,
            price=leg.price,
            stop_price=leg.stop_price,
            status=JournalStatus.INTENT,
            exchange_id=None,
            created_at=planned_at,
        )

    def _cancel(self, order: ExchangeOrder) -> None:
        if order.status is not JournalStatus.CANCEL_INTENT:
            self._journal(order.now(JournalStatus.CANCEL_INTENT))  # decided before it is sent
        siblings = [
            other
            for other in self._orders.values()
            if order.list_id is not None and other.list_id == order.list_id
        ] or [order]
        remote = self.client.cancel(order.client_id)
        settled = []
        for leg in siblings:
            answer = remote if leg.client_id == order.client_id else None
            if answer is None:
                answer = self.client.lookup(leg.client_id)
            if answer is None:
                settled.append(leg.now(JournalStatus.ABANDONED, detail="never reached"))
            else:
                settled.append(_update(leg, answer))
        self._journal(*settled)
        self._refreshed_for = None

    def _live(self) -> list[ExchangeOrder]:
        return [
            order
            for order in self._orders.values()
            if order.level is not None and order.status.live
        ]

    def _live_groups(self) -> list[tuple[str, ...]]:
        groups: dict[str, list[str]] = {}
        for order in self._live():
            groups.setdefault(order.list_id or order.client_id, []).append(order.client_id)
        return [tuple(group) for group in groups.values()]

    def _journal(self, *orders: ExchangeOrder) -> None:
        self.journal.write(orders)
        self._orders.update({order.client_id: order for order in orders})

    def _trades_of(self, client_ids: Sequence[str]) -> list[ExchangeTrade]:
        return [trade for trade in self._trades.values() if trade.client_id in client_ids]

    def _resting_trades(self, position_id: str, path: Bar) -> list[ExchangeTrade]:
        start, end = path.time, path.time + self.bar_interval
        chosen = [
            trade
            for trade in self._trades.values()
            if start <= trade.time < end
            and self._orders[trade.client_id].position_id == position_id
            and self._orders[trade.client_id].level is not None
        ]
        return sorted(chosen, key=lambda trade: (trade.time, trade.trade_id))


def _first_fill(reports: Sequence[VenueReport]) -> VenueFill | None:
    return next((report for report in reports if isinstance(report, VenueFill)), None)


def _matches(plan: PlannedOrder, legs: Sequence[ExchangeOrder], position_id: str | None) -> bool:
    if len(plan.legs) != len(legs) or any(leg.position_id != position_id for leg in legs):
        return False
    return all(
        (leg.level, leg.rung, leg.side, leg.shape, leg.quantity, leg.price, leg.stop_price)
        == (
            want.level,
            want.rung,
            want.side,
            want.shape,
            want.quantity,
            want.price,
            want.stop_price,
        )
        and leg.status is JournalStatus.OPEN
        for leg, want in zip(legs, plan.legs, strict=True)
    )


def _update(order: ExchangeOrder, remote: RemoteOrder) -> ExchangeOrder:
    return order.now(remote.status, exchange_id=remote.exchange_id)


def _silent(event: str, **fields: object) -> None:
    """No log."""
