"""`SandboxExchange`: one spot market and one account, matched against replayed candles.

The market's time is the replay clock's (`now_ms()`): the candle containing that instant is the
*forming* bar, those before it are closed. A market order fills at once at the forming bar's
open (the price "now"); a resting order (limit, stop-loss, take-profit, each as a limit order
once triggered) is matched bar by bar against the closed bars it has not seen yet, in time
order, the way atb's own fill model walks a bar: a stop or take-profit triggers when the bar
reaches its stop price and fills at that price (at the open when the bar gaps through it); a
limit fills at its price (at the open when that is better). Fees are taken in the asset
received, at `fee_rate`, as Binance does by default.

The state is guarded by one lock: the HTTP server calls in from many threads.
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

__all__ = ["ExchangeRefusalError", "OrderType", "SandboxExchange", "SandboxOrder", "SandboxTrade"]


INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
"""Binance's message for an order the account cannot pay for (ccxt: InsufficientFunds)."""


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
    STOP_LOSS_LIMIT = "STOP_LOSS_LIMIT"
    TAKE_PROFIT_LIMIT = "TAKE_PROFIT_LIMIT"


@attrs.define(slots=True)
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
        self._opens = [int(bar.time.timestamp() * 1000) for bar in self.bars]
        self._free = dict(balances)
        self._locked: dict[str, float] = dict.fromkeys(balances, 0.0)
        self._orders: dict[int, SandboxOrder] = {}
        self._trades: list[SandboxTrade] = []
        self._next_order = 1
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

    def closed_bars(self, start_ms: int | None, end_ms: int | None, limit: int) -> list[Bar]:
        """Closed bars (closed before now) opening in [start_ms, end_ms], oldest first."""
        now = self.now_ms()
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
        client_order_id: str,
        side: str,
        order_type: OrderType,
        quantity: float,
        price: float | None,
        stop_price: float | None,
    ) -> SandboxOrder:
        """Accept an order (a market order fills at once), or raise `ExchangeRefusalError`."""
        with self._lock:
            self._match_resting()
            if any(order.client_order_id == client_order_id for order in self._orders.values()):
                raise ExchangeRefusalError(-2010, "Duplicate order sent.")
            self._check_filters(order_type, quantity, price, stop_price)
            now = self.now_ms()
            order = SandboxOrder(
                order_id=self._next_order,
                client_order_id=client_order_id,
                side=side,
                type=order_type,
                quantity=quantity,
                price=price,
                stop_price=stop_price,
                time_ms=now,
                update_ms=now,
                seen_until_ms=self._opens[self.forming_index(now)] + self.bar_ms,
            )
            if order_type is OrderType.MARKET:
                self._reserve(order, self.price_now())
                self._next_order += 1
                self._orders[order.order_id] = order
                self._fill(order, self.price_now(), now)
                return order
            assert price is not None
            self._reserve(order, price)
            self._next_order += 1
            self._orders[order.order_id] = order
            return order

    def cancel(self, order_id: int | None, client_order_id: str | None) -> SandboxOrder:
        """Cancel an open order (`ExchangeRefusalError` -2011 if unknown or no longer open)."""
        with self._lock:
            self._match_resting()
            order = self._find(order_id, client_order_id)
            if order is None or order.status not in OPEN_STATUSES:
                raise ExchangeRefusalError(-2011, "Unknown order sent.")
            self._release(order)
            order.status = "CANCELED"
            order.update_ms = self.now_ms()
            return order

    def order(self, order_id: int | None, client_order_id: str | None) -> SandboxOrder:
        """One order by id or client id (`ExchangeRefusalError` -2013 if unknown)."""
        with self._lock:
            self._match_resting()
            order = self._find(order_id, client_order_id)
            if order is None:
                raise ExchangeRefusalError(-2013, "Order does not exist.")
            return order

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

    # -- internals ----------------------------------------------------------------------------
    def _find(self, order_id: int | None, client_order_id: str | None) -> SandboxOrder | None:
        if order_id is not None:
            return self._orders.get(order_id)
        return next(
            (order for order in self._orders.values() if order.client_order_id == client_order_id),
            None,
        )

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
            for level in (price, stop_price if order_type is not OrderType.LIMIT else price):
                if level is None or not level > 0:
                    raise ExchangeRefusalError(-1102, "Mandatory parameter 'price' was not sent.")
                if abs(rules.round_price(level) - level) > rules.tick_size * 1e-6:
                    raise ExchangeRefusalError(-1013, "Filter failure: PRICE_FILTER")
        reference = price if price is not None else self.price_now()
        if quantity * reference < rules.min_notional:
            raise ExchangeRefusalError(-1013, "Filter failure: NOTIONAL")

    def _reserve(self, order: SandboxOrder, price: float) -> None:
        asset, amount = self._reservation(order, price, order.quantity)
        if self._free.get(asset, 0.0) + 1e-12 < amount:
            raise ExchangeRefusalError(-2010, INSUFFICIENT_BALANCE)
        self._free[asset] = self._free.get(asset, 0.0) - amount
        self._locked[asset] = self._locked.get(asset, 0.0) + amount

    def _reservation(self, order: SandboxOrder, price: float, quantity: float) -> tuple[str, float]:
        if order.side == "BUY":
            return self.quote_asset, quantity * price
        return self.base_asset, quantity

    def _release(self, order: SandboxOrder) -> None:
        remaining = order.quantity - order.executed
        asset, amount = self._reservation(order, order.price or self.price_now(), remaining)
        self._locked[asset] -= amount
        self._free[asset] += amount

    def _fill(
        self, order: SandboxOrder, price: float, at_ms: int, quantity: float | None = None
    ) -> None:
        """Fill `quantity` (default: the rest) of `order` at `price`, releasing its reservation."""
        if quantity is None:
            quantity = order.quantity - order.executed
        reserved_asset, reserved = self._reservation(order, order.price or price, quantity)
        self._locked[reserved_asset] -= reserved
        if order.side == "BUY":
            self._free[self.quote_asset] += reserved - quantity * price
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
            )
        )
        self._next_trade += 1
        order.executed += quantity
        order.quote_executed += quantity * price
        done = order.executed >= order.quantity - self.instrument.lot_step * 1e-6
        order.status = "FILLED" if done else "PARTIALLY_FILLED"
        order.update_ms = at_ms

    def _match_resting(self) -> None:
        now = self.now_ms()
        resting = sorted(
            (order for order in self._orders.values() if order.status in OPEN_STATUSES),
            key=lambda order: order.order_id,
        )
        for order in resting:
            # Bars from the first the order has not seen, while they are closed.
            index = bisect.bisect_left(self._opens, order.seen_until_ms)
            while index < len(self.bars) and self._opens[index] + self.bar_ms <= now:
                opened = self._opens[index]
                order.seen_until_ms = opened + self.bar_ms
                bar = self.bars[index]
                price = _match(order, bar)
                part = 0.0 if price is None else self._part(order, bar)
                if price is not None and part > 0:
                    self._fill(order, price, opened + self.bar_ms - 1, part)
                    if order.status == "FILLED":
                        break
                index += 1

    def _part(self, order: SandboxOrder, bar: Bar) -> float:
        """How much of `order` one bar can fill: the rest, or its share of the bar's volume."""
        remaining = order.quantity - order.executed
        if self.participation is None:
            return remaining
        cap = self.instrument.round_quantity(self.participation * bar.volume)
        # The remainder is on the lot grid (only its float sum is not): take it whole.
        return remaining if remaining <= cap + self.instrument.lot_step * 1e-6 else cap


def _match(order: SandboxOrder, bar: Bar) -> float | None:
    """The fill price of `order` on `bar`, or None if the bar does not reach it."""
    buy = order.side == "BUY"
    if order.type is OrderType.LIMIT:
        assert order.price is not None
        if buy and bar.low <= order.price:
            return min(order.price, bar.open)
        if not buy and bar.high >= order.price:
            return max(order.price, bar.open)
        return None
    assert order.stop_price is not None
    stop = order.stop_price
    # A stop-loss sells below (buys above) the market; a take-profit the other way round.
    falls_through = (order.type is OrderType.STOP_LOSS_LIMIT) != buy
    if falls_through and bar.low <= stop:
        return min(stop, bar.open)
    if not falls_through and bar.high >= stop:
        return max(stop, bar.open)
    return None


def utc_ms(moment: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime."""
    return int(moment.astimezone(UTC).timestamp() * 1000)
