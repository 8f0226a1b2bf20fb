"""`SpotClient`: the few exchange calls a real session makes, over ccxt, with faults handled.

Every call goes through `_call`, which sorts ccxt's exceptions into three outcomes:

- **transient** (429 and 418 with their wait, 5xx, timeouts, dropped connections): waited out
  and retried, up to `attempts` times, the wait cut short by a stop request;
- **clock skew** (Binance -1021, ccxt `InvalidNonce`): the client's clock offset to the
  exchange is measured again and the call retried;
- **refused** (insufficient balance, a filter failure, an unknown order): `OrderRefusedError`
  with the exchange's words, never retried.

Placing an order is special: a timeout may come *after* the exchange accepted it. So a placement
that fails in transit is never simply sent again — the client id is looked up first, and only a
client id the exchange does not know is sent again (the exchange would refuse a duplicate
anyway). Nothing here ever formats the API key or secret into a message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TypeVar

import attrs
import ccxt

from atb.domain.errors import AtbError
from atb.managers.order_journal import ExchangeTrade, JournalStatus

T = TypeVar("T")

__all__ = ["ExchangeUnavailableError", "OrderRefusedError", "RemoteOrder", "SpotClient"]


class OrderRefusedError(AtbError):
    """The exchange refused a request for a reason that a retry would not change."""


class ExchangeUnavailableError(AtbError):
    """The exchange could not be reached (or kept failing) after every retry."""


_STATUSES = {
    "open": JournalStatus.OPEN,
    "closed": JournalStatus.FILLED,
    "canceled": JournalStatus.CANCELLED,
    "cancelled": JournalStatus.CANCELLED,
    "expired": JournalStatus.EXPIRED,
    "rejected": JournalStatus.REJECTED,
}


@attrs.frozen(slots=True)
class RemoteOrder:
    """An order as the exchange reports it."""

    client_id: str
    exchange_id: str
    status: JournalStatus
    filled: float


class SpotClient:
    """One symbol of one spot account, through a ccxt exchange object."""

    def __init__(
        self,
        exchange: ccxt.Exchange,
        symbol: str,
        *,
        wait: Callable[[float], bool],
        attempts: int = 6,
        base_wait_s: float = 0.2,
        max_wait_s: float = 30.0,
        on_retry: Callable[[str, str, float], None] | None = None,
    ) -> None:
        self.exchange = exchange
        self.symbol = symbol
        self.wait = wait
        """Waits up to the given seconds; True when a stop was requested meanwhile."""
        self.attempts = attempts
        self.base_wait_s = base_wait_s
        self.max_wait_s = max_wait_s
        self.on_retry = on_retry
        """Told (what, why, wait in seconds) before each retry: the session logs it."""

    # --- orders --------------------------------------------------------------------------------

    def place(
        self,
        client_id: str,
        side: str,
        order_type: str,
        quantity: float,
        *,
        price: float | None = None,
        stop_price: float | None = None,
    ) -> RemoteOrder:
        """Send one order (after a failure in transit, only if the exchange does not know
        `client_id` yet); its state as the exchange acknowledged it."""
        params: dict[str, object] = {"newClientOrderId": client_id}
        if stop_price is not None:
            params["stopPrice"] = stop_price
        if order_type == "STOP_LOSS_LIMIT":
            params["timeInForce"] = "GTC"

        def send() -> dict[str, object]:
            return self.exchange.create_order(
                self.symbol, order_type, side, quantity, price, params
            )

        return self._placed(client_id, send)

    def place_oco(
        self,
        list_id: str,
        *,
        side: str,
        quantity: float,
        limit_id: str,
        limit_price: float,
        stop_id: str,
        stop_price: float,
        stop_limit: float,
    ) -> tuple[RemoteOrder, RemoteOrder]:
        """Send a one-cancels-the-other list: a limit and a stop-limit sharing one quantity
        (the exchange reserves it once). The limit leg's and the stop leg's states."""
        market = self.exchange.market(self.symbol)
        params: dict[str, object] = {
            "symbol": str(market["id"]),
            "side": side.upper(),
            "quantity": self._amount(quantity),
            "listClientOrderId": list_id,
            "aboveType": "LIMIT_MAKER" if side == "sell" else "STOP_LOSS_LIMIT",
            "belowType": "STOP_LOSS_LIMIT" if side == "sell" else "LIMIT_MAKER",
        }
        limit_leg, stop_leg = ("above", "below") if side == "sell" else ("below", "above")
        params[f"{limit_leg}ClientOrderId"] = limit_id
        params[f"{limit_leg}Price"] = self._price(limit_price)
        params[f"{stop_leg}ClientOrderId"] = stop_id
        params[f"{stop_leg}StopPrice"] = self._price(stop_price)
        params[f"{stop_leg}Price"] = self._price(stop_limit)
        params[f"{stop_leg}TimeInForce"] = "GTC"

        def send() -> dict[str, object]:
            return self.exchange.privatePostOrderListOco(params)

        self._placed(limit_id, send, answer_is_order=False)
        limit = self.lookup(limit_id)
        stop = self.lookup(stop_id)
        if limit is None or stop is None:
            raise ExchangeUnavailableError(
                f"the exchange accepted OCO list {list_id} but does not show its legs"
            )
        return limit, stop

    def cancel(self, client_id: str) -> RemoteOrder | None:
        """Cancel an order (and, on Binance, the rest of its OCO list); its state afterwards
        (filled, if it filled first), or None if the exchange never had it."""
        # Refused when already filled, expired or unknown: the lookup says which.
        with contextlib.suppress(OrderRefusedError):
            self._call(
                f"cancel {client_id}",
                lambda: self.exchange.cancel_order(
                    "", self.symbol, {"origClientOrderId": client_id}
                ),
            )
        return self.lookup(client_id)

    def lookup(self, client_id: str) -> RemoteOrder | None:
        """The exchange's state of the order sent as `client_id` (None: it never arrived)."""
        try:
            answer = self._call(
                f"look up {client_id}",
                lambda: self.exchange.fetch_order(
                    "", self.symbol, {"origClientOrderId": client_id}
                ),
            )
        except OrderRefusedError:
            return None
        return _remote(answer, client_id)

    def open_orders(self) -> list[RemoteOrder]:
        """Every order resting for the symbol."""
        answers = self._call(
            "list open orders", lambda: self.exchange.fetch_open_orders(self.symbol)
        )
        return [_remote(answer, str(answer.get("clientOrderId") or "")) for answer in answers]

    def trades(self, client_ids: Mapping[str, str]) -> list[ExchangeTrade]:
        """The account's fills of the symbol whose order is one of `client_ids` (exchange order
        id → client id), oldest first."""
        answers = self._call("list fills", lambda: self.exchange.fetch_my_trades(self.symbol))
        trades = []
        for answer in answers:
            client_id = client_ids.get(str(answer.get("order")))
            if client_id is None:
                continue  # another order on the account: not the session's
            fee = answer.get("fee")
            commission, asset = 0.0, ""
            if isinstance(fee, dict):
                commission = float(str(fee.get("cost") or 0.0))
                asset = str(fee.get("currency") or "")
            trades.append(
                ExchangeTrade(
                    trade_id=str(answer["id"]),
                    client_id=client_id,
                    side=str(answer["side"]),
                    price=float(str(answer["price"])),
                    quantity=float(str(answer["amount"])),
                    commission=commission,
                    commission_asset=_asset(asset),
                    time=datetime.fromtimestamp(int(str(answer["timestamp"])) / 1000, UTC),
                )
            )
        return trades

    def balances(self) -> dict[str, float]:
        """Total (free + locked) amount per asset."""
        answer = self._call("read balances", self.exchange.fetch_balance)
        totals = answer.get("total")
        if not isinstance(totals, dict):
            return {}
        return {str(asset): float(str(amount or 0.0)) for asset, amount in totals.items()}

    # --- plumbing ------------------------------------------------------------------------------

    def _placed(
        self, client_id: str, send: Callable[[], dict[str, object]], *, answer_is_order: bool = True
    ) -> RemoteOrder:
        for attempt in range(self.attempts):
            try:
                answer = send()
            except (ccxt.InsufficientFunds, ccxt.InvalidOrder, ccxt.BadRequest) as error:
                if _duplicate(error):
                    known = self.lookup(client_id)  # sent before (a lost acknowledgement)
                    if known is not None:
                        return known
                raise OrderRefusedError(_words(error)) from None
            except ccxt.NetworkError as error:
                # It may have arrived: look before sending again, never send blind.
                known = self._lookup_quietly(client_id)
                if known is not None:
                    return known
                self._wait(f"send {client_id}", error, attempt)
                continue
            if not answer_is_order:
                known = self.lookup(client_id)
                if known is None:
                    raise ExchangeUnavailableError(f"the exchange does not show {client_id}")
                return known
            return _remote(answer, client_id)
        raise ExchangeUnavailableError(f"could not send {client_id} after {self.attempts} attempts")

    def _lookup_quietly(self, client_id: str) -> RemoteOrder | None:
        try:
            return self.lookup(client_id)
        except ExchangeUnavailableError:
            return None

    def _call(self, what: str, call: Callable[[], T]) -> T:
        for attempt in range(self.attempts):
            try:
                return call()
            except ccxt.InvalidNonce as error:
                self._resync(what, error)
            except ccxt.NetworkError as error:
                self._wait(what, error, attempt)
            except (ccxt.InsufficientFunds, ccxt.InvalidOrder, ccxt.BadRequest) as error:
                raise OrderRefusedError(_words(error)) from None
            except ccxt.AuthenticationError:
                raise OrderRefusedError(
                    "the exchange refused the API key (check ATB_API_KEY/ATB_API_SECRET or the "
                    "key file, and the key's permissions)"
                ) from None
            except ccxt.ExchangeError as error:
                raise OrderRefusedError(_words(error)) from None
        raise ExchangeUnavailableError(
            f"could not {what}: the exchange kept failing after {self.attempts} attempts"
        )

    def _resync(self, what: str, error: ccxt.BaseError) -> None:
        """Measure the clock offset to the exchange again (Binance -1021)."""
        if self.on_retry is not None:
            self.on_retry(what, _words(error), 0.0)
        server_ms = self.exchange.fetch_time()
        self.exchange.options["timeDifference"] = self.exchange.milliseconds() - server_ms

    def _wait(self, what: str, error: ccxt.BaseError, attempt: int) -> None:
        wait = min(self.max_wait_s, self.base_wait_s * 2**attempt)
        headers = self.exchange.last_response_headers or {}
        retry_after = headers.get("Retry-After") or headers.get("retry-after")
        if retry_after is not None and str(retry_after).isdigit():
            wait = min(self.max_wait_s, max(wait, float(str(retry_after))))
        if self.on_retry is not None:
            self.on_retry(what, _words(error), wait)
        if self.wait(wait):
            raise ExchangeUnavailableError(f"could not {what}: stopped while retrying")

    def _amount(self, quantity: float) -> str:
        return self.exchange.amount_to_precision(self.symbol, quantity)

    def _price(self, price: float) -> str:
        return self.exchange.price_to_precision(self.symbol, price)


def _remote(answer: Mapping[str, object], client_id: str) -> RemoteOrder:
    status = _STATUSES.get(str(answer.get("status")), JournalStatus.OPEN)
    return RemoteOrder(
        client_id=str(answer.get("clientOrderId") or client_id),
        exchange_id=str(answer.get("id")),
        status=status,
        filled=float(str(answer.get("filled") or 0.0)),
    )


def _duplicate(error: ccxt.BaseError) -> bool:
    return "Duplicate order" in str(error)


def _words(error: ccxt.BaseError) -> str:
    """The exchange's message without ccxt's prefix (the exchange id) or any request text."""
    text = str(error)
    start = text.find("{")
    if start >= 0:
        message = text[start:]
        marker = '"msg":"'
        at = message.find(marker)
        if at >= 0:
            return message[at + len(marker) :].split('"', 1)[0]
    return text.split(" ", 1)[-1] if text.startswith("binance ") else text


def _asset(name: str) -> str:
    return name.upper()
