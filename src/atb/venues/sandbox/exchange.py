"""`SandboxExchange`: one spot market and one account, matched against replayed candles.

The market's time is the replay clock's (`now_ms()`): the candle containing that instant is the
*forming* bar, those before it are closed. "Now" is priced as the forming bar's open: a market
order fills there at once, and so does the marketable part of a LIMIT order with timeInForce
IOC (the rest expires) or FOK (all of it, or nothing and the order expires).

A resting order (GTC LIMIT, LIMIT_MAKER, STOP_LOSS_LIMIT, TAKE_PROFIT_LIMIT — each stop as a
limit order once triggered) is matched against every bar from the forming bar it was placed in
on — the whole of that bar, as a market order is priced at its open — once the bar has closed.
Matching is bar-major: each closed bar walks one fixed price path, open → low → high → close
(`atb.venues.sandbox.path`: the adverse extreme first for a long position, atb's `pessimistic`
intrabar policy), and the orders it reaches fill in the order the path reaches them (ties: the
older order first). A stop or take-profit triggers when the path reaches its stop price and
fills there; a limit fills at its price; a level the open gaps through fills at the open. Fill
times follow the path too: one millisecond apart from just after the bar's open, never before
the order was placed. With `participation` a resting order takes at most that share of each
bar's volume and fills in parts, bar after bar.

An OCO order list (`place_oco`) is two resting legs — a take-profit LIMIT_MAKER and a stop — with
ONE reservation of the quantity between them: when either leg fills, even in part, the other
expires (the list is done once no leg rests); cancelling either leg cancels the list.

Fees are taken in the asset received, at `fee_rate`, as Binance does by default. The state is
guarded by one lock: the HTTP server calls in from many threads.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import Enum

import attrs

from atb.domain.bars import Bar
from atb.domain.instruments import Instrument
from atb.venues.sandbox.path import PathHit, reach

__all__ = [
    "ExchangeRefusalError",
    "OcoLeg",
    "OrderType",
    "SandboxExchange",
    "SandboxOrder",
    "SandboxOrderList",
    "SandboxTrade",
    "TimeInForce",
]


INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
"""Binance's message for an order the account cannot pay for (ccxt: InsufficientFunds)."""

DUPLICATE = "Duplicate order sent."
"""Binance's message for a client order id (or list client id) already used."""

WOULD_TAKE = "Order would immediately match and take."
"""Binance's refusal of a LIMIT_MAKER that would not rest on the book."""

WOULD_TRIGGER = "Stop price would trigger immediately."
"""Binance's refusal of a stop leg the market is already through."""

OPEN_STATUSES = ("NEW", "PARTIALLY_FILLED")
"""Statuses of an order still resting on the book."""


class ExchangeRefusalError(Exception):
    """A request the exchange refuses: Binance's error `code` and `message`."""

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class OrderType(Enum):
    """The spot order types the sandbox matches."""

    MARKET = "MARKET"
    LIMIT = "LIMIT"
    LIMIT_MAKER = "LIMIT_MAKER"
    STOP_LOSS_LIMIT = "STOP_LOSS_LIMIT"
    TAKE_PROFIT_LIMIT = "TAKE_PROFIT_LIMIT"


class TimeInForce(Enum):
    """How long a LIMIT order lives: resting (GTC), or only at placement (IOC, FOK)."""

    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


@attrs.define(slots=True, eq=False)
class _Reservation:
    """Funds locked for resting orders: one order's, or shared by the legs of an order list."""

    asset: str
    amount: float
    holders: list[SandboxOrder] = attrs.field(factory=list)


@attrs.define(slots=True, eq=False)
class SandboxOrder:
    """An order as the exchange keeps it."""

    order_id: int
    client_order_id: str
    side: str
    type: OrderType
    quantity: float
    price: float | None
    stop_price: float | None
    time_ms: int
    status: str = "NEW"
    executed: float = 0.0
    quote_executed: float = 0.0
    update_ms: int = 0
    seen_until_ms: int = 0
    """Bars opening before this instant were already matched against the order."""
    time_in_force: TimeInForce = TimeInForce.GTC
    order_list_id: int = -1
    """The order list the order is a leg of (-1: none), as Binance reports it."""
    reservation: _Reservation | None = attrs.field(default=None, repr=False)


@attrs.frozen(slots=True)
class OcoLeg:
    """One leg of an OCO list as asked for: LIMIT_MAKER (`price`) or STOP_LOSS_LIMIT (`price`
    and `stop_price`)."""

    type: OrderType
    price: float
    stop_price: float | None = None
    client_order_id: str | None = None


@attrs.define(slots=True, eq=False)
class SandboxOrderList:
    """An OCO order list: its legs (below leg first, as Binance lists them) and its state."""

    list_id: int
    client_list_id: str
    legs: tuple[SandboxOrder, ...]
    transaction_ms: int
    list_status: str = "EXEC_STARTED"
    """Binance's `listStatusType`: EXEC_STARTED while a leg rests, then ALL_DONE."""
    order_status: str = "EXECUTING"
    """Binance's `listOrderStatus`: EXECUTING, then ALL_DONE."""


@attrs.frozen(slots=True)
class SandboxTrade:
    """One fill of one order."""

    trade_id: int
    order_id: int
    side: str
    price: float
    quantity: float
    commission: float
    commission_asset: str
    time_ms: int
    order_list_id: int = -1


class SandboxExchange:
    """A Binance-like spot venue for one symbol (see the module docstring)."""

    def __init__(
        self,
        *,
        symbol: str,
        base_asset: str,
        quote_asset: str,
        instrument: Instrument,
        bars: Sequence[Bar],
        bar_ms: int,
        balances: dict[str, float],
        now_ms: Callable[[], int],
        fee_rate: float = 0.001,
        participation: float | None = None,
    ) -> None:
        if not bars:
            raise ValueError("the sandbox needs candles to replay")
        self.symbol = symbol
        self.base_asset = base_asset
        self.quote_asset = quote_asset
        self.instrument = instrument
        self.bars = list(bars)
        self.bar_ms = bar_ms
        self.fee_rate = fee_rate
        self.participation = participation
        """The share of a bar's volume one resting order may take (None: all of it at once);
        a larger order fills partially, bar after bar."""
        self.now_ms = now_ms
        """The replay clock; a `LockstepClock` makes the server advance it (see its module)."""
        self._opens = [int(bar.time.timestamp() * 1000) for bar in self.bars]
        self._free = dict(balances)
        self._locked: dict[str, float] = dict.fromkeys(balances, 0.0)
        self._orders: dict[int, SandboxOrder] = {}
        self._by_client: dict[str, SandboxOrder] = {}
        self._lists: dict[int, SandboxOrderList] = {}
        self._lists_by_client: dict[str, SandboxOrderList] = {}
        self._trades: list[SandboxTrade] = []
        self._next_order = 1
        self._next_list = 1
        self._next_trade = 1
        self._lock = threading.RLock()

    # -- the market -------------------------------------------------------------------------
    def forming_index(self, at_ms: int | None = None) -> int:
        """The index of the bar containing `at_ms` (default now), clamped to the replay."""
        moment = self.now_ms() if at_ms is None else at_ms
        index = bisect.bisect_right(self._opens, moment) - 1
        return min(max(index, 0), len(self.bars) - 1)

    def price_now(self) -> float:
        """The price a market order gets: the forming bar's open."""
        return self.bars[self.forming_index()].open

    def closed_bars(
        self, start_ms: int | None, end_ms: int | None, limit: int, at_ms: int | None = None
    ) -> list[Bar]:
        """Bars closed at `at_ms` (default now) opening in [start_ms, end_ms], oldest first."""
        now = self.now_ms() if at_ms is None else at_ms
        chosen = []
        for bar, opened in zip(self.bars, self._opens, strict=True):
            if opened + self.bar_ms > now:
                break
            if start_ms is not None and opened < start_ms:
                continue
            if end_ms is not None and opened > end_ms:
                break
            chosen.append(bar)
            if len(chosen) >= limit:
                break
        return chosen

    # -- the account ------------------------------------------------------------------------
    def balances(self) -> dict[str, tuple[float, float]]:
        """Free and locked amount per asset (after matching resting orders up to now)."""
        with self._lock:
            self._match_resting()
            assets = sorted(set(self._free) | set(self._locked))
            return {
                asset: (self._free.get(asset, 0.0), self._locked.get(asset, 0.0))
                for asset in assets
            }

    def place(
        self,
        *,
        client_order_id: str | None,
        side: str,
        order_type: OrderType,
        quantity: float,
        price: float | None,
        stop_price: float | None,
        time_in_force: TimeInForce = TimeInForce.GTC,
    ) -> SandboxOrder:
        """Accept an order, or raise `ExchangeRefusalError`.

        A market order fills at once; an IOC or FOK limit is settled at once (filled, partly
        filled and expired, or expired); anything else rests. `client_order_id` None: the
        exchange makes one up.
        """
        with self._lock:
            self._match_resting()
            if time_in_force is not TimeInForce.GTC and order_type is not OrderType.LIMIT:
                raise ExchangeRefusalError(-1106, "Parameter 'timeInForce' sent when not required.")
            self._check_unused(client_order_id)
            self._check_filters(order_type, quantity, price, stop_price)
            if order_type is OrderType.LIMIT_MAKER:
                assert price is not None
                self._check_rests(side, price)
            order = self._new_order(
                self._next_order,
                client_order_id,
                side=side,
                order_type=order_type,
                quantity=quantity,
                price=price,
                stop_price=stop_price,
                time_in_force=time_in_force,
            )
            now = order.time_ms
            reference = self.price_now() if price is None else price
            self._reserve(self._reservation_asset(side), self._need(order, reference), [order])
            self._register(order)
            if order_type is OrderType.MARKET:
                self._fill(order, self.price_now(), now)
            elif time_in_force is not TimeInForce.GTC:
                self._settle_at_once(order, now)
            return order

    def place_oco(
        self,
        *,
        list_client_order_id: str | None,
        side: str,
        quantity: float,
        above: OcoLeg,
        below: OcoLeg,
    ) -> SandboxOrderList:
        """Accept an OCO list — for a SELL, `above` the LIMIT_MAKER take-profit and `below` the
        STOP_LOSS_LIMIT stop; for a BUY the other way round — or raise `ExchangeRefusalError`.

        Both legs rest on one reservation of `quantity` (a BUY list reserves at the higher of
        the two prices).
        """
        with self._lock:
            self._match_resting()
            maker, stop = (above, below) if side == "SELL" else (below, above)
            # The one combination atb needs: a take-profit that rests as a maker, and a stop.
            for name, leg, wanted in (
                ("aboveType", above, maker is above),
                ("belowType", below, maker is below),
            ):
                expected = OrderType.LIMIT_MAKER if wanted else OrderType.STOP_LOSS_LIMIT
                if leg.type is not expected:
                    raise ExchangeRefusalError(
                        -1102,
                        f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
                    )
            if list_client_order_id is not None and list_client_order_id in self._lists_by_client:
                raise ExchangeRefusalError(-2010, DUPLICATE)
            for leg in (below, above):
                self._check_unused(leg.client_order_id)
                self._check_filters(leg.type, quantity, leg.price, leg.stop_price)
            if below.client_order_id is not None and below.client_order_id == above.client_order_id:
                raise ExchangeRefusalError(-2010, DUPLICATE)
            self._check_rests(side, maker.price)
            assert stop.stop_price is not None
            self._check_not_triggered(side, stop.stop_price)
            list_id = self._next_list
            legs = tuple(
                self._new_order(
                    self._next_order + number,
                    leg.client_order_id,
                    side=side,
                    order_type=leg.type,
                    quantity=quantity,
                    price=leg.price,
                    stop_price=leg.stop_price,
                    time_in_force=TimeInForce.GTC,
                    order_list_id=list_id,
                )
                for number, leg in enumerate((below, above))
            )
            amount = max(self._need(order, order.price or 0.0) for order in legs)
            self._reserve(self._reservation_asset(side), amount, list(legs))
            for order in legs:
                self._register(order)
            self._next_list += 1
            client_id = list_client_order_id or f"sandbox-list-{list_id}"
            order_list = SandboxOrderList(list_id, client_id, legs, legs[0].time_ms)
            self._lists[list_id] = order_list
            self._lists_by_client[client_id] = order_list
            return order_list

    def cancel(self, order_id: int | None, client_order_id: str | None) -> SandboxOrder:
        """Cancel an open order (`ExchangeRefusalError` -2011 if unknown or no longer open).

        Cancelling a leg of an order list cancels the whole list, as on Binance.
        """
        with self._lock:
            self._match_resting()
            order = self._find(order_id, client_order_id)
            if order is None or order.status not in OPEN_STATUSES:
                raise ExchangeRefusalError(-2011, "Unknown order sent.")
            if order.order_list_id != -1:
                self._cancel_list(self._lists[order.order_list_id])
            else:
                self._cancel_order(order, self.now_ms())
            return order

    def cancel_order_list(
        self, list_id: int | None, list_client_order_id: str | None
    ) -> SandboxOrderList:
        """Cancel an executing order list (-2011 if unknown or done); both legs CANCELED."""
        with self._lock:
            self._match_resting()
            order_list = self._find_list(list_id, list_client_order_id)
            if order_list is None or order_list.list_status == "ALL_DONE":
                raise ExchangeRefusalError(-2011, "Unknown order sent.")
            self._cancel_list(order_list)
            return order_list

    def order(self, order_id: int | None, client_order_id: str | None) -> SandboxOrder:
        """One order by id or client id (`ExchangeRefusalError` -2013 if unknown)."""
        with self._lock:
            self._match_resting()
            order = self._find(order_id, client_order_id)
            if order is None:
                raise ExchangeRefusalError(-2013, "Order does not exist.")
            return order

    def order_list(self, list_id: int | None, list_client_order_id: str | None) -> SandboxOrderList:
        """One order list by id or client id (`ExchangeRefusalError` -2013 if unknown)."""
        with self._lock:
            self._match_resting()
            order_list = self._find_list(list_id, list_client_order_id)
            if order_list is None:
                raise ExchangeRefusalError(-2013, "Order list does not exist.")
            return order_list

    def open_orders(self) -> list[SandboxOrder]:
        """Orders still resting, oldest first."""
        with self._lock:
            self._match_resting()
            return [order for order in self._orders.values() if order.status in OPEN_STATUSES]

    def trades(self, from_id: int | None = None) -> list[SandboxTrade]:
        """The account's fills, oldest first (from trade id `from_id` on)."""
        with self._lock:
            self._match_resting()
            return [trade for trade in self._trades if from_id is None or trade.trade_id >= from_id]

    def fills_of(self, order_id: int) -> list[SandboxTrade]:
        """The fills of one order."""
        with self._lock:
            return [trade for trade in self._trades if trade.order_id == order_id]

    # -- internals: orders ---------------------------------------------------------------------
    def _new_order(
        self,
        order_id: int,
        client_order_id: str | None,
        *,
        side: str,
        order_type: OrderType,
        quantity: float,
        price: float | None,
        stop_price: float | None,
        time_in_force: TimeInForce,
        order_list_id: int = -1,
    ) -> SandboxOrder:
        """A NEW order (registered only by `_register`, once the exchange accepted it)."""
        now = self.now_ms()
        return SandboxOrder(
            order_id=order_id,
            client_order_id=client_order_id or f"sandbox-{order_id}",
            side=side,
            type=order_type,
            quantity=quantity,
            price=price,
            stop_price=stop_price,
            time_ms=now,
            update_ms=now,
            # "Now" is the forming bar's open, for resting orders as for market orders: the
            # whole forming bar is matched against the order once it closes.
            seen_until_ms=self._opens[self.forming_index(now)],
            time_in_force=time_in_force,
            order_list_id=order_list_id,
        )

    def _register(self, order: SandboxOrder) -> None:
        self._next_order = max(self._next_order, order.order_id + 1)
        self._orders[order.order_id] = order
        self._by_client[order.client_order_id] = order

    def _find(self, order_id: int | None, client_order_id: str | None) -> SandboxOrder | None:
        if order_id is not None:
            return self._orders.get(order_id)
        return None if client_order_id is None else self._by_client.get(client_order_id)

    def _find_list(
        self, list_id: int | None, list_client_order_id: str | None
    ) -> SandboxOrderList | None:
        if list_id is not None:
            return self._lists.get(list_id)
        if list_client_order_id is None:
            return None
        return self._lists_by_client.get(list_client_order_id)

    def _check_unused(self, client_order_id: str | None) -> None:
        if client_order_id is not None and client_order_id in self._by_client:
            raise ExchangeRefusalError(-2010, DUPLICATE)

    def validate(
        self, order_type: OrderType, quantity: float, price: float | None, stop_price: float | None
    ) -> None:
        """Check an order as the test-order endpoint does: the market's filters, nothing
        placed, nothing reserved (`ExchangeRefusalError` when a filter fails)."""
        with self._lock:
            self._check_filters(order_type, quantity, price, stop_price)

    def _check_filters(
        self, order_type: OrderType, quantity: float, price: float | None, stop_price: float | None
    ) -> None:
        rules = self.instrument
        if (
            not quantity > 0
            or abs(rules.round_quantity(quantity) - quantity) > rules.lot_step * 1e-6
        ):
            raise ExchangeRefusalError(-1013, "Filter failure: LOT_SIZE")
        if order_type is not OrderType.MARKET:
            limit_only = order_type in (OrderType.LIMIT, OrderType.LIMIT_MAKER)
            for level in (price, price if limit_only else stop_price):
                if level is None or not level > 0:
                    raise ExchangeRefusalError(-1102, "Mandatory parameter 'price' was not sent.")
                if abs(rules.round_price(level) - level) > rules.tick_size * 1e-6:
                    raise ExchangeRefusalError(-1013, "Filter failure: PRICE_FILTER")
        reference = price if price is not None else self.price_now()
        if quantity * reference < rules.min_notional:
            raise ExchangeRefusalError(-1013, "Filter failure: NOTIONAL")

    def _check_rests(self, side: str, price: float) -> None:
        """Refuse a LIMIT_MAKER the price now would fill: it must rest on the book."""
        now = self.price_now()
        if (side == "BUY" and price >= now) or (side == "SELL" and price <= now):
            raise ExchangeRefusalError(-2010, WOULD_TAKE)

    def _check_not_triggered(self, side: str, stop_price: float) -> None:
        """Refuse a stop leg the price now is already through."""
        now = self.price_now()
        if (side == "SELL" and stop_price >= now) or (side == "BUY" and stop_price <= now):
            raise ExchangeRefusalError(-2010, WOULD_TRIGGER)

    def _cancel_order(self, order: SandboxOrder, at_ms: int) -> None:
        order.status = "CANCELED"
        order.update_ms = at_ms
        self._settle(order)

    def _cancel_list(self, order_list: SandboxOrderList) -> None:
        now = self.now_ms()
        for leg in order_list.legs:
            if leg.status in OPEN_STATUSES:
                self._cancel_order(leg, now)
        order_list.list_status = order_list.order_status = "ALL_DONE"
        order_list.transaction_ms = now

    def _settle_at_once(self, order: SandboxOrder, now: int) -> None:
        """An IOC or FOK limit: fill what the price now allows, expire the rest."""
        bar = self.bars[self.forming_index(now)]
        assert order.price is not None
        marketable = bar.open <= order.price if order.side == "BUY" else bar.open >= order.price
        part = self._part(order, bar) if marketable else 0.0
        remaining = order.quantity - order.executed
        whole = part >= remaining - self.instrument.lot_step * 1e-6
        if part > 0 and (order.time_in_force is TimeInForce.IOC or whole):
            self._fill(order, bar.open, now, part)
        if order.status in OPEN_STATUSES:
            order.status = "EXPIRED"
            order.update_ms = now
            self._settle(order)

    # -- internals: funds ---------------------------------------------------------------------
    def _reservation_asset(self, side: str) -> str:
        return self.quote_asset if side == "BUY" else self.base_asset

    def _need(self, order: SandboxOrder, price: float) -> float:
        """What the unfilled rest of `order` must keep locked (a buy at `price`)."""
        remaining = order.quantity - order.executed
        return remaining * price if order.side == "BUY" else remaining

    def _reserve(self, asset: str, amount: float, holders: list[SandboxOrder]) -> None:
        if self._free.get(asset, 0.0) + 1e-12 < amount:
            raise ExchangeRefusalError(-2010, INSUFFICIENT_BALANCE)
        self._free[asset] = self._free.get(asset, 0.0) - amount
        self._locked[asset] = self._locked.get(asset, 0.0) + amount
        reservation = _Reservation(asset, amount, holders)
        for holder in holders:
            holder.reservation = reservation

    def _settle(self, order: SandboxOrder) -> None:
        """Release what `order`'s reservation holds beyond what its open holders still need."""
        reservation = order.reservation
        if reservation is None:
            return
        need = max(
            (
                self._need(holder, holder.price or 0.0)
                for holder in reservation.holders
                if holder.status in OPEN_STATUSES
            ),
            default=0.0,
        )
        surplus = reservation.amount - need
        if surplus > 0:
            reservation.amount = need
            self._locked[reservation.asset] -= surplus
            self._free[reservation.asset] += surplus

    def _fill(
        self, order: SandboxOrder, price: float, at_ms: int, quantity: float | None = None
    ) -> None:
        """Fill `quantity` (default: the rest) of `order` at `price`, paying from its
        reservation; the other leg of an order list expires."""
        if quantity is None:
            quantity = order.quantity - order.executed
        reservation = order.reservation
        assert reservation is not None
        paid = quantity * price if order.side == "BUY" else quantity
        from_locked = min(paid, reservation.amount)
        reservation.amount -= from_locked
        self._locked[reservation.asset] -= from_locked
        # A buy stop filled above its limit (a gap) pays the difference from the free balance.
        self._free[reservation.asset] -= paid - from_locked
        if order.side == "BUY":
            commission = quantity * self.fee_rate
            received_asset, received = self.base_asset, quantity - commission
        else:
            commission = quantity * price * self.fee_rate
            received_asset, received = self.quote_asset, quantity * price - commission
        self._free[received_asset] = self._free.get(received_asset, 0.0) + received
        self._locked.setdefault(received_asset, 0.0)
        self._trades.append(
            SandboxTrade(
                trade_id=self._next_trade,
                order_id=order.order_id,
                side=order.side,
                price=price,
                quantity=quantity,
                commission=commission,
                commission_asset=received_asset,
                time_ms=at_ms,
                order_list_id=order.order_list_id,
            )
        )
        self._next_trade += 1
        order.executed += quantity
        order.quote_executed += quantity * price
        done = order.executed >= order.quantity - self.instrument.lot_step * 1e-6
        order.status = "FILLED" if done else "PARTIALLY_FILLED"
        order.update_ms = at_ms
        if order.order_list_id != -1:
            self._finish_list(self._lists[order.order_list_id], at_ms)
        self._settle(order)

    def _finish_list(self, order_list: SandboxOrderList, at_ms: int) -> None:
        """A leg filled: the others expire (their share of the reservation is released). The
        list is done once no leg rests — a partly filled leg keeps it executing, and
        cancellable as a list."""
        if order_list.list_status == "ALL_DONE":
            return
        for leg in order_list.legs:
            if leg.executed == 0 and leg.status in OPEN_STATUSES:
                leg.status = "EXPIRED"
                leg.update_ms = at_ms
        if not any(leg.status in OPEN_STATUSES for leg in order_list.legs):
            order_list.list_status = order_list.order_status = "ALL_DONE"
            order_list.transaction_ms = at_ms

    # -- internals: matching ------------------------------------------------------------------
    def _match_resting(self) -> None:
        """Match every closed bar not yet matched against the orders that have not seen it,
        bar by bar, in the order each bar's path reaches them."""
        resting = [order for order in self._orders.values() if order.status in OPEN_STATUSES]
        if not resting:
            return
        now = self.now_ms()
        first = min(bisect.bisect_left(self._opens, order.seen_until_ms) for order in resting)
        for index in range(first, len(self.bars)):
            opened = self._opens[index]
            if opened + self.bar_ms > now:
                break  # this bar and the rest are not closed yet
            bar = self.bars[index]
            hits: list[tuple[float, int, float, SandboxOrder]] = []
            for order in resting:
                if order.status not in OPEN_STATUSES or order.seen_until_ms > opened:
                    continue
                order.seen_until_ms = opened + self.bar_ms
                hit = _reach(order, bar)
                if hit is not None:
                    hits.append((hit[0], order.order_id, hit[1], order))
            hits.sort(key=lambda entry: (entry[0], entry[1]))
            stamp = opened
            for _, _, price, order in hits:
                if order.status not in OPEN_STATUSES:
                    continue  # the other leg of its list filled earlier on this path
                part = self._part(order, bar)
                if part > 0:
                    # Trade times in path order, inside the bar, never before the order.
                    stamp = min(max(stamp + 1, order.time_ms), opened + self.bar_ms - 1)
                    self._fill(order, price, stamp, part)

    def _part(self, order: SandboxOrder, bar: Bar) -> float:
        """How much of `order` one bar can fill: the rest, or its share of the bar's volume."""
        remaining = order.quantity - order.executed
        if self.participation is None:
            return remaining
        cap = self.instrument.round_quantity(self.participation * bar.volume)
        # The remainder is on the lot grid (only its float sum is not): take it whole.
        return remaining if remaining <= cap + self.instrument.lot_step * 1e-6 else cap


def _reach(order: SandboxOrder, bar: Bar) -> PathHit | None:
    """Where `bar`'s path reaches `order` and at what price it fills, or None."""
    buy = order.side == "BUY"
    if order.type in (OrderType.LIMIT, OrderType.LIMIT_MAKER):
        assert order.price is not None
        # A buy limit waits for prices at or below it, a sell limit for prices at or above.
        return reach(order.price, buy, bar)
    assert order.stop_price is not None
    # A stop-loss sells below (buys above) the market; a take-profit the other way round.
    falls_through = (order.type is OrderType.STOP_LOSS_LIMIT) != buy
    return reach(order.stop_price, falls_through, bar)


def utc_ms(moment: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime."""
    return int(moment.astimezone(UTC).timestamp() * 1000)
