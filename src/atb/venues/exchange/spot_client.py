"""`SpotClient`: the few exchange calls a real session makes, over ccxt, with faults handled.

Every call goes through `_call`, which sorts ccxt's exceptions into three outcomes:

- **transient** (429 and 418 with their `Retry-After`, 5xx — ccxt's `OperationFailed` for
  Binance's -1000 —, timeouts, dropped connections): waited out and retried, up to `attempts`
  times, the wait cut short by a stop request;
- **clock skew** (Binance -1021, ccxt `InvalidNonce`): the client's clock offset to the
  exchange is measured again (`_resync`) and the call retried;
- **refused** (insufficient balance, a filter failure, an unknown order): `OrderRefusedError`
  with the exchange's words, never retried.

Placing an order is special: a 5xx or a timeout may come *after* the exchange accepted it. So a
placement that fails in transit is never simply sent again — the client id is looked up first,
and only a client id the exchange does not know is sent again; when even the lookup fails, the
placement fails (`ExchangeUnavailableError`) rather than send blind (Binance refuses a duplicate
client id only while the first order is open: a filled market order's id can be used again).
A 429/418 or a -1021 was refused before it was processed: sent again after the wait.

Nothing here ever formats the API key, the secret or a signed request (its signature) into a
message.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

import attrs

from atb.deferred_modules import DeferredModule
from atb.domain.errors import AtbError
from atb.managers.order_journal import ExchangeTrade, JournalStatus

if TYPE_CHECKING:
    import ccxt
else:
    # ccxt takes ~1 s to import. A paper or replayed session imports this module (the live
    # engine names its types) but never builds a client; a real one has imported ccxt to make
    # its exchange object before any call here names an exception.
    ccxt = DeferredModule("ccxt")

T = TypeVar("T")

_MAX_RECV_WINDOW_MS = 60_000
"""The widest `recvWindow` Binance accepts."""
_AHEAD_MS = 1_000
"""How far ahead of its clock Binance accepts a timestamp."""
_MAX_SKEW_MS = 300_000
"""How far off a clock `_resync` searches (beyond that, fix the machine's clock)."""

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

    def validate(self, client_id: str, side: str, quantity: float) -> None:
        """Send a market order to the exchange's test-order endpoint: checked against the
        market's rules and the key's permissions, never executed (`OrderRefusedError` when the
        exchange would refuse it)."""
        params = {"newClientOrderId": client_id, "test": True}
        self._call(
            f"validate {client_id}",
            lambda: self.exchange.create_order(self.symbol, "market", side, quantity, None, params),
        )

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

    def market(self) -> dict[str, object]:
        """The symbol's market data (rules, assets), loaded with the same fault handling."""
        self._call("load the markets", self.exchange.load_markets)
        return self.exchange.market(self.symbol)

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
        what = f"send {client_id}"
        problem = ""
        for attempt in range(self.attempts):
            try:
                answer = send()
            except ccxt.InvalidNonce as error:
                # -1021 is refused before anything is processed: measure the clock, send again.
                problem = _words(error)
                self._resync(what, error)
                continue
            except ccxt.DDoSProtection as error:
                # 429/418: refused unprocessed; wait as asked, then send again.
                problem = _words(error)
                self._wait(what, error, attempt)
                continue
            except ccxt.OperationFailed as error:
                # A 5xx, a timeout or a dropped connection: it may have arrived. Look before
                # sending again, never send blind (a failed lookup fails the placement).
                problem = _words(error)
                known = self.lookup(client_id)
                if known is not None:
                    return known
                self._wait(what, error, attempt)
                continue
            except ccxt.ExchangeError as error:
                if _duplicate(error):
                    known = self.lookup(client_id)  # sent before (a lost acknowledgement)
                    if known is not None:
                        return known
                raise _refusal(error) from None
            if not answer_is_order:
                known = self.lookup(client_id)
                if known is None:
                    raise ExchangeUnavailableError(f"the exchange does not show {client_id}")
                return known
            return _remote(answer, client_id)
        raise ExchangeUnavailableError(_exhausted(what, self.attempts, problem))

    def _call(self, what: str, call: Callable[[], T]) -> T:
        problem = ""
        for attempt in range(self.attempts):
            try:
                return call()
            except ccxt.InvalidNonce as error:
                problem = _words(error)
                self._resync(what, error)
            except ccxt.OperationFailed as error:
                # 429/418 (`DDoSProtection`), timeouts and dropped connections (`NetworkError`)
                # and Binance's -1000 "unknown error" (`OperationFailed`): all transient.
                problem = _words(error)
                self._wait(what, error, attempt)
            except ccxt.ExchangeError as error:
                raise _refusal(error) from None
        raise ExchangeUnavailableError(_exhausted(what, self.attempts, problem))

    def _resync(self, what: str, error: ccxt.BaseError) -> None:
        """Measure the clock offset to the exchange again (Binance -1021).

        ccxt signs `milliseconds() - options['timeDifference']`, and the exchange accepts a
        timestamp from `recvWindow` behind its clock to 1 s ahead of it. Binance's
        `/api/v3/time` is its clock, so the offset measured there is tried first. Where it is
        not (a replay exchange serves the market's time there), the offset is searched for
        with a cheap signed request: first with the widest `recvWindow` Binance takes, stepping
        a minute at a time, then by halving that window. The offset found puts the timestamps
        in the middle of the accepted range. A failure meanwhile (a fault, a timeout) leaves
        the offset as it was: the caller's next attempt tells.
        """
        if self.on_retry is not None:
            self.on_retry(what, _words(error), 0.0)
        options = self.exchange.options
        previous = _int(options.get("timeDifference"), 0)
        window = _int(options.get("recvWindow"), 5000)
        try:
            before = self.exchange.milliseconds()
            server_ms = self.exchange.fetch_time()
            measured = (before + self.exchange.milliseconds()) // 2 - server_ms
            found = measured if self._accepted(measured, window) else self._search(previous)
        except ccxt.BaseError:
            found = None
        options["timeDifference"] = previous if found is None else found

    def _search(self, previous: int) -> int | None:
        """The time difference that centres requests in the exchange's window (`_resync`), or
        None when none within `_MAX_SKEW_MS` of `previous` is accepted."""
        step = _MAX_RECV_WINDOW_MS - _AHEAD_MS
        bracket = None
        for k in range(1 + 2 * (_MAX_SKEW_MS // step)):
            # 0, -1, +1, -2, +2, …: one probe covers the offsets from d - 60 s to d + 1 s.
            guess = previous + step * ((k + 1) // 2) * (1 if k % 2 == 0 else -1)
            if self._accepted(guess, _MAX_RECV_WINDOW_MS):
                bracket = guess
                break
        if bracket is None:
            return None
        # The probe at `bracket` passes with a window of at least (bracket - ideal): halve it.
        low, high = 0, _MAX_RECV_WINDOW_MS
        while high - low > _AHEAD_MS // 2:
            middle = (low + high) // 2
            if self._accepted(bracket, max(1, middle)):
                high = middle
            else:
                low = middle
        ideal = bracket - high  # ccxt's difference that stamps requests at the server's time
        window = _int(self.exchange.options.get("recvWindow"), 5000)
        return ideal + (window - _AHEAD_MS) // 2

    def _accepted(self, difference: int, window: int) -> bool:
        """Whether a signed request stamped with `difference` passes with `recvWindow` =
        `window` (other failures propagate)."""
        self.exchange.options["timeDifference"] = difference
        market = self.exchange.market(self.symbol)
        try:
            self.exchange.privateGetOpenOrders({"symbol": str(market["id"]), "recvWindow": window})
        except ccxt.InvalidNonce:
            return False
        return True

    def _wait(self, what: str, error: ccxt.BaseError, attempt: int) -> None:
        if attempt + 1 >= self.attempts:
            return  # the last attempt failed: nothing to wait for
        wait = min(self.max_wait_s, self.base_wait_s * 2**attempt)
        if isinstance(error, ccxt.DDoSProtection):
            # 429/418 carry the wait the exchange asks for (the headers are this answer's;
            # after a dropped connection they would be an older answer's).
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


def _refusal(error: ccxt.ExchangeError) -> OrderRefusedError:
    if isinstance(error, ccxt.AuthenticationError):
        return OrderRefusedError(
            "the exchange refused the API key (check ATB_API_KEY/ATB_API_SECRET or the key "
            "file, and the key's permissions)"
        )
    return OrderRefusedError(_words(error))


def _exhausted(what: str, attempts: int, problem: str) -> str:
    return f"could not {what}: the exchange kept failing after {attempts} attempts ({problem})"


_MESSAGE = re.compile(r'"msg"\s*:\s*"((?:[^"\\]|\\.)*)"')
_REQUEST = re.compile(r"\b(GET|POST|PUT|DELETE) (https?://\S+)")


def _words(error: ccxt.BaseError) -> str:
    """The exchange's message without ccxt's prefix (the exchange id) or any request text: a
    signed request's query (its timestamp and signature) never appears, only its path."""
    text = str(error)
    message = _MESSAGE.search(text)
    if message is not None:
        return message.group(1)
    request = _REQUEST.search(text)
    if request is not None:
        path = urlsplit(request.group(2)).path
        kind = "timed out" if isinstance(error, ccxt.RequestTimeout) else "no answer"
        return f"{kind}: {request.group(1)} {path} ({type(error).__name__})"
    return text.split(" ", 1)[-1] if text.startswith("binance ") else text


def _int(value: object, default: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default


def _asset(name: str) -> str:
    return name.upper()
