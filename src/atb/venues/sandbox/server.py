"""`SandboxServer`: a `SandboxExchange` behind Binance's spot REST API on 127.0.0.1.

Public: `GET /api/v3/ping`, `/api/v3/time` (the replay clock), `/api/v3/exchangeInfo`,
`/api/v3/klines` (closed bars only). Signed (`X-MBX-APIKEY` header, HMAC-SHA256 `signature`
over the request's parameters as sent, `timestamp` within `recvWindow` of the server's wall
clock shifted by `clock_skew_ms` — the replay clock is the market's, not the request's):
`GET /api/v3/account`, `POST|GET|DELETE /api/v3/order`, `GET /api/v3/openOrders`,
`GET /api/v3/myTrades`, `POST /api/v3/order/test`, `POST /api/v3/orderList/oco`,
`GET|DELETE /api/v3/orderList`.
Errors answer as Binance does, `{"code": -2010, "msg": "…"}` with HTTP 400 (401 for a bad key),
so a real client library (ccxt) maps them to its own exceptions.

When the exchange's clock is a `LockstepClock`, the klines route drives it: a request for the
bar after the newest closed one finds nothing, answers `[]`, and moves the clock on one bar
(`atb.venues.sandbox.clock`).

The secret is only ever compared, never logged: the handler writes no access log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import attrs

from atb.domain.errors import AtbError
from atb.venues.sandbox.clock import LockstepClock
from atb.venues.sandbox.exchange import (
    OPEN_STATUSES,
    ExchangeRefusalError,
    OcoLeg,
    OrderType,
    SandboxExchange,
    SandboxOrder,
    SandboxOrderList,
    SandboxTrade,
    TimeInForce,
)
from atb.venues.sandbox.faults import Fault, FaultPlan

__all__ = ["SandboxServer"]

_INTERVALS = {"1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d"}
_ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"]

JsonValue = object
Handler = Callable[[SandboxExchange, Mapping[str, str]], JsonValue]


def _number(value: float) -> str:
    return f"{value:.8f}"


@attrs.frozen(slots=True)
class RequestSeen:
    """A request as an observer sees it: before it is processed (`answered` False) and after,
    just before its answer is sent. `params` never hold the signature."""

    method: str
    path: str
    params: Mapping[str, str]
    answered: bool
    status: int = 0


RequestObserver = Callable[[RequestSeen], bool | None]
"""Told about every request that reaches the exchange (a rehearsal's audit, a crash test's
kill switch). Answering True before processing drops the request unprocessed and unanswered
(as if the connection broke on the way in)."""


class SandboxServer:
    """Serves one `SandboxExchange` for one API key until `stop()`."""

    def __init__(
        self,
        exchange: SandboxExchange,
        *,
        api_key: str,
        secret: str,
        port: int = 0,
        wall_ms: Callable[[], int] | None = None,
        faults: FaultPlan | None = None,
        clock_skew_ms: int = 0,
        observer: RequestObserver | None = None,
    ) -> None:
        self.exchange = exchange
        self.observer = observer
        """Called before and after each request is processed (see `RequestSeen`)."""
        self.clock_skew_ms = clock_skew_ms
        """How far the server's wall clock is ahead of the real one (negative: behind). Only the
        `timestamp`/`recvWindow` check sees it; a client whose clock differs by more than its
        `recvWindow` is refused (-1021) until it corrects its time difference by this much."""
        self.faults = faults or FaultPlan()
        """What goes wrong and when (`atb.venues.sandbox.faults`); none by default."""
        self._api_key = api_key
        self._secret = secret.encode()
        self._wall_ms = wall_ms or (lambda: int(time.time() * 1000))
        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_class(self))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise AtbError(f"--port {port}: cannot listen on 127.0.0.1: {reason}") from exc
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """The base URL clients point at (`--exchange-url`)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> SandboxServer:
        """Start serving in a daemon thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    # -- request handling --------------------------------------------------------------------
    def answer(
        self, method: str, path: str, raw: str, api_key: str | None
    ) -> tuple[int, JsonValue]:
        """The status and JSON body for one request (`raw`: its parameters as sent)."""
        params = dict(parse_qsl(raw, keep_blank_values=True))
        route = _PUBLIC.get((method, path))
        try:
            if route is not None:
                return 200, route(self.exchange, params)
            signed = _PRIVATE.get((method, path))
            if signed is None:
                return 404, {"code": -1100, "msg": f"Unknown endpoint {method} {path}."}
            self._authenticate(raw, params, api_key)
            return 200, signed(self.exchange, params)
        except ExchangeRefusalError as refusal:
            return refusal.status, {"code": refusal.code, "msg": refusal.message}

    def _authenticate(self, raw: str, params: Mapping[str, str], api_key: str | None) -> None:
        if api_key != self._api_key:
            raise ExchangeRefusalError(
                -2015, "Invalid API-key, IP, or permissions for action.", status=401
            )
        payload, _, signature = raw.rpartition("&signature=")
        expected = hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()
        if not signature or not hmac.compare_digest(signature, expected):
            raise ExchangeRefusalError(-1022, "Signature for this request is not valid.")
        try:
            stamp = int(params["timestamp"])
            window = int(params.get("recvWindow", "5000"))
        except (KeyError, ValueError):
            raise ExchangeRefusalError(
                -1102, "Mandatory parameter 'timestamp' was not sent."
            ) from None
        now = self._wall_ms() + self.clock_skew_ms
        if stamp > now + 1000 or now - stamp > window:
            raise ExchangeRefusalError(
                -1021, "Timestamp for this request is outside of the recvWindow."
            )


def _handler_class(server: SandboxServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            raw = "&".join(part for part in (parts.query, body) if part)
            fault = None if parts.path == "/api/v3/ping" else server.faults.next_fault()
            refusal = _FAULT_ANSWERS.get(fault) if fault is not None else None
            if refusal is not None:
                status, payload = refusal
                self._send(status, payload, retry_after=server.faults.retry_after_s)
                return
            if fault is Fault.HANG:
                time.sleep(server.faults.hang_s)  # never processed, never answered
                self.close_connection = True
                return
            observer = server.observer
            seen = {k: v for k, v in parse_qsl(raw, keep_blank_values=True) if k != "signature"}
            if observer is not None and observer(
                RequestSeen(method, parts.path, seen, answered=False)
            ):
                self.close_connection = True
                return
            status, payload = server.answer(
                method, parts.path, raw, self.headers.get("X-MBX-APIKEY")
            )
            if observer is not None:
                observer(RequestSeen(method, parts.path, seen, answered=True, status=status))
            if fault is Fault.HANG_AFTER:
                time.sleep(server.faults.hang_s)  # processed, but the answer is lost
                self.close_connection = True
                return
            self._send(status, payload)

        def _send(self, status: int, payload: JsonValue, retry_after: int | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if retry_after is not None:
                self.send_header("Retry-After", str(retry_after))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def log_message(self, format: str, *args: object) -> None:
            """No access log: request lines carry signatures and API keys."""

    return _Handler


_FAULT_ANSWERS: Mapping[Fault | None, tuple[int, JsonValue]] = {
    Fault.RATE_LIMITED: (
        429,
        {"code": -1003, "msg": "Too many requests; current limit is 1200 request weight per 1 M."},
    ),
    Fault.BANNED: (418, {"code": -1003, "msg": "Way too many requests; IP banned for a while."}),
    Fault.SERVER_ERROR: (
        500,
        {"code": -1000, "msg": "An unknown error occurred while processing the request."},
    ),
}


# -- public endpoints -------------------------------------------------------------------------
def _time(exchange: SandboxExchange, _params: Mapping[str, str]) -> JsonValue:
    return {"serverTime": exchange.now_ms()}


def _exchange_info(exchange: SandboxExchange, _params: Mapping[str, str]) -> JsonValue:
    rules = exchange.instrument
    filters = [
        {"filterType": "PRICE_FILTER", "minPrice": _number(rules.tick_size),
         "maxPrice": "10000000.00000000", "tickSize": _number(rules.tick_size)},
        {"filterType": "LOT_SIZE", "minQty": _number(rules.lot_step),
         "maxQty": "9000000.00000000", "stepSize": _number(rules.lot_step)},
        {"filterType": "NOTIONAL", "minNotional": _number(rules.min_notional),
         "applyMinToMarket": True, "maxNotional": "900000000.00000000"},
    ]  # fmt: skip
    return {
        "timezone": "UTC",
        "serverTime": exchange.now_ms(),
        "rateLimits": [],
        "exchangeFilters": [],
        "symbols": [
            {
                "symbol": exchange.symbol,
                "status": "TRADING",
                "baseAsset": exchange.base_asset,
                "baseAssetPrecision": 8,
                "quoteAsset": exchange.quote_asset,
                "quotePrecision": 8,
                "quoteAssetPrecision": 8,
                "orderTypes": _ORDER_TYPES,
                "icebergAllowed": False,
                "ocoAllowed": True,
                "otoAllowed": False,
                "isSpotTradingAllowed": True,
                "isMarginTradingAllowed": False,
                "permissions": ["SPOT"],
                "filters": filters,
            }
        ],
    }


def _klines(exchange: SandboxExchange, params: Mapping[str, str]) -> JsonValue:
    if params.get("symbol") != exchange.symbol:
        raise ExchangeRefusalError(-1121, "Invalid symbol.")
    if params.get("interval") not in _INTERVALS:
        raise ExchangeRefusalError(-1120, "Invalid interval.")
    start = params.get("startTime")
    end = params.get("endTime")
    limit = min(int(params.get("limit", "500")), 1000)
    start_ms = None if start is None else int(start)
    now = exchange.now_ms()
    bars = exchange.closed_bars(start_ms, None if end is None else int(end), limit, at_ms=now)
    clock = exchange.now_ms
    # Lockstep: the client has every closed bar and asks for the next one (the bar forming at
    # `now`). It gets nothing this time; the clock moves so that its next request gets the bar.
    if (
        not bars
        and isinstance(clock, LockstepClock)
        and start_ms is not None
        and now - exchange.bar_ms < start_ms <= now
    ):
        clock.advance_from(now)
    rows: list[JsonValue] = []
    for bar in bars:
        opened = int(bar.time.timestamp() * 1000)
        rows.append(
            [opened, _number(bar.open), _number(bar.high), _number(bar.low), _number(bar.close),
             _number(bar.volume), opened + exchange.bar_ms - 1, "0", 0, "0", "0", "0"]
        )  # fmt: skip
    return rows


# -- signed endpoints -------------------------------------------------------------------------
def _account(exchange: SandboxExchange, _params: Mapping[str, str]) -> JsonValue:
    return {
        "makerCommission": 10,
        "takerCommission": 10,
        "canTrade": True,
        "canWithdraw": False,
        "canDeposit": False,
        "updateTime": exchange.now_ms(),
        "accountType": "SPOT",
        "permissions": ["SPOT"],
        "balances": [
            {"asset": asset, "free": _number(free), "locked": _number(locked)}
            for asset, (free, locked) in exchange.balances().items()
        ],
    }


def _order_basics(
    exchange: SandboxExchange, params: Mapping[str, str]
) -> tuple[str, OrderType, float]:
    """Side, type and quantity of a new order, checked as Binance checks them."""
    if params.get("symbol") != exchange.symbol:
        raise ExchangeRefusalError(-1121, "Invalid symbol.")
    side = params.get("side", "")
    if side not in ("BUY", "SELL"):
        raise ExchangeRefusalError(-1102, "Mandatory parameter 'side' was not sent.")
    try:
        order_type = OrderType(params.get("type", ""))
    except ValueError:
        raise ExchangeRefusalError(-1116, "Invalid orderType.") from None
    quantity = _float(params, "quantity")
    if quantity is None:
        raise ExchangeRefusalError(-1102, "Mandatory parameter 'quantity' was not sent.")
    return side, order_type, quantity


def _new_order(exchange: SandboxExchange, params: Mapping[str, str]) -> JsonValue:
    side, order_type, quantity = _order_basics(exchange, params)
    order = exchange.place(
        client_order_id=params.get("newClientOrderId") or None,
        side=side,
        order_type=order_type,
        quantity=quantity,
        price=_float(params, "price"),
        stop_price=_float(params, "stopPrice"),
        time_in_force=_time_in_force(params, "timeInForce"),
    )
    answer = _order(order, exchange)
    answer["transactTime"] = order.time_ms
    answer["fills"] = [
        {"price": _number(trade.price), "qty": _number(trade.quantity),
         "commission": _number(trade.commission), "commissionAsset": trade.commission_asset,
         "tradeId": trade.trade_id}
        for trade in exchange.fills_of(order.order_id)
    ]  # fmt: skip
    return answer


def _test_order(exchange: SandboxExchange, params: Mapping[str, str]) -> JsonValue:
    """Binance's test-order endpoint: validated like a new order, never placed; `{}`."""
    _side, order_type, quantity = _order_basics(exchange, params)
    exchange.validate(order_type, quantity, _float(params, "price"), _float(params, "stopPrice"))
    return {}


def _query_order(exchange: SandboxExchange, params: Mapping[str, str]) -> JsonValue:
    order_id, client_id = _order_reference(params)
    return _order(exchange.order(order_id, client_id), exchange)


def _cancel_order(exchange: SandboxExchange, params: Mapping[str, str]) -> JsonValue:
    order_id, client_id = _order_reference(params)
    return _order(exchange.cancel(order_id, client_id), exchange)


def _open_orders(exchange: SandboxExchange, _params: Mapping[str, str]) -> JsonValue:
    return [_order(order, exchange) for order in exchange.open_orders()]


def _my_trades(exchange: SandboxExchange, params: Mapping[str, str]) -> JsonValue:
    from_id = params.get("fromId")
    return [
        _trade(trade, exchange)
        for trade in exchange.trades(None if from_id is None else int(from_id))
    ]


def _new_oco(exchange: SandboxExchange, params: Mapping[str, str]) -> JsonValue:
    if params.get("symbol") != exchange.symbol:
        raise ExchangeRefusalError(-1121, "Invalid symbol.")
    side = params.get("side", "")
    if side not in ("BUY", "SELL"):
        raise ExchangeRefusalError(-1102, "Mandatory parameter 'side' was not sent.")
    quantity = _float(params, "quantity")
    if quantity is None:
        raise ExchangeRefusalError(-1102, "Mandatory parameter 'quantity' was not sent.")
    order_list = exchange.place_oco(
        list_client_order_id=params.get("listClientOrderId") or None,
        side=side,
        quantity=quantity,
        above=_oco_leg(params, "above"),
        below=_oco_leg(params, "below"),
    )
    return _order_list(order_list, exchange, reports=True)


def _oco_leg(params: Mapping[str, str], prefix: str) -> OcoLeg:
    """One leg of `POST /api/v3/orderList/oco` from its `above…`/`below…` parameters."""
    try:
        order_type = OrderType(params.get(f"{prefix}Type", ""))
    except ValueError:
        order_type = OrderType.MARKET  # refused below, as Binance refuses an unknown type
    if order_type not in (OrderType.LIMIT_MAKER, OrderType.STOP_LOSS_LIMIT):
        raise ExchangeRefusalError(-1102, _malformed(f"{prefix}Type"))
    price = _float(params, f"{prefix}Price")
    if price is None:
        raise ExchangeRefusalError(-1102, _malformed(f"{prefix}Price"))
    stop_price = _float(params, f"{prefix}StopPrice")
    in_force = params.get(f"{prefix}TimeInForce")
    if order_type is OrderType.LIMIT_MAKER:
        # A maker rests until filled or cancelled: neither a stop nor a time in force applies.
        for extra, value in (
            (f"{prefix}StopPrice", stop_price),
            (f"{prefix}TimeInForce", in_force),
        ):
            if value is not None:
                raise ExchangeRefusalError(-1106, f"Parameter '{extra}' sent when not required.")
    else:
        if stop_price is None:
            raise ExchangeRefusalError(-1102, _malformed(f"{prefix}StopPrice"))
        # The stop leg must outlive the placement: GTC is the one time in force it can have.
        if in_force != TimeInForce.GTC.value:
            raise ExchangeRefusalError(-1102, _malformed(f"{prefix}TimeInForce"))
    return OcoLeg(
        type=order_type,
        price=price,
        stop_price=stop_price,
        client_order_id=params.get(f"{prefix}ClientOrderId") or None,
    )


def _query_order_list(exchange: SandboxExchange, params: Mapping[str, str]) -> JsonValue:
    list_id, client_id = _list_reference(params)
    return _order_list(exchange.order_list(list_id, client_id), exchange, reports=False)


def _cancel_order_list(exchange: SandboxExchange, params: Mapping[str, str]) -> JsonValue:
    list_id, client_id = _list_reference(params)
    return _order_list(exchange.cancel_order_list(list_id, client_id), exchange, reports=True)


def _list_reference(params: Mapping[str, str]) -> tuple[int | None, str | None]:
    """`orderListId`, or the list's client id (`listClientOrderId` when cancelling,
    `origClientOrderId` when querying, as Binance names them; either is accepted)."""
    list_id = params.get("orderListId")
    client_id = params.get("listClientOrderId") or params.get("origClientOrderId")
    if list_id is None and client_id is None:
        raise ExchangeRefusalError(
            -1102,
            "Param 'listClientOrderId' or 'orderListId' must be sent, but both were empty/null!",
        )
    try:
        return (None if list_id is None else int(list_id)), client_id
    except ValueError:
        raise ExchangeRefusalError(
            -1100, "Illegal characters found in parameter 'orderListId'."
        ) from None


def _order_list(
    order_list: SandboxOrderList, exchange: SandboxExchange, *, reports: bool
) -> dict[str, object]:
    """An order list as Binance answers it (with each leg's order when `reports`)."""
    answer: dict[str, object] = {
        "orderListId": order_list.list_id,
        "contingencyType": "OCO",
        "listStatusType": order_list.list_status,
        "listOrderStatus": order_list.order_status,
        "listClientOrderId": order_list.client_list_id,
        "transactionTime": order_list.transaction_ms,
        "symbol": exchange.symbol,
        "orders": [
            {
                "symbol": exchange.symbol,
                "orderId": leg.order_id,
                "clientOrderId": leg.client_order_id,
            }
            for leg in order_list.legs
        ],
    }
    if reports:
        answer["orderReports"] = [_order(leg, exchange) for leg in order_list.legs]
    return answer


def _time_in_force(params: Mapping[str, str], name: str) -> TimeInForce:
    try:
        return TimeInForce(params.get(name) or "GTC")
    except ValueError:
        raise ExchangeRefusalError(-1115, "Invalid timeInForce.") from None


def _malformed(name: str) -> str:
    return f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."


def _order_reference(params: Mapping[str, str]) -> tuple[int | None, str | None]:
    order_id = params.get("orderId")
    client_id = params.get("origClientOrderId")
    if order_id is None and client_id is None:
        raise ExchangeRefusalError(
            -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
        )
    return (None if order_id is None else int(order_id)), client_id


def _order(order: SandboxOrder, exchange: SandboxExchange) -> dict[str, object]:
    return {
        "symbol": exchange.symbol,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "clientOrderId": order.client_order_id,
        "price": _number(order.price or 0.0),
        "origQty": _number(order.quantity),
        "executedQty": _number(order.executed),
        "cummulativeQuoteQty": _number(order.quote_executed),
        "status": order.status,
        "timeInForce": order.time_in_force.value,
        "type": order.type.value,
        "side": order.side,
        "stopPrice": _number(order.stop_price or 0.0),
        "time": order.time_ms,
        "updateTime": order.update_ms,
        "workingTime": order.time_ms,
        "isWorking": order.status in OPEN_STATUSES,
        "origQuoteOrderQty": "0.00000000",
        "selfTradePreventionMode": "NONE",
    }


def _trade(trade: SandboxTrade, exchange: SandboxExchange) -> JsonValue:
    return {
        "symbol": exchange.symbol,
        "id": trade.trade_id,
        "orderId": trade.order_id,
        "orderListId": trade.order_list_id,
        "price": _number(trade.price),
        "qty": _number(trade.quantity),
        "quoteQty": _number(trade.price * trade.quantity),
        "commission": _number(trade.commission),
        "commissionAsset": trade.commission_asset,
        "time": trade.time_ms,
        "isBuyer": trade.side == "BUY",
        "isMaker": False,
        "isBestMatch": True,
    }


def _float(params: Mapping[str, str], name: str) -> float | None:
    text = params.get(name)
    if text is None or text == "":
        return None
    try:
        return float(text)
    except ValueError:
        raise ExchangeRefusalError(
            -1100, f"Illegal characters found in parameter '{name}'."
        ) from None


_PUBLIC: Mapping[tuple[str, str], Handler] = {
    ("GET", "/api/v3/ping"): lambda _exchange, _params: {},
    ("GET", "/api/v3/time"): _time,
    ("GET", "/api/v3/exchangeInfo"): _exchange_info,
    ("GET", "/api/v3/klines"): _klines,
}
_PRIVATE: Mapping[tuple[str, str], Handler] = {
    ("GET", "/api/v3/account"): _account,
    ("POST", "/api/v3/order"): _new_order,
    ("POST", "/api/v3/order/test"): _test_order,
    ("GET", "/api/v3/order"): _query_order,
    ("DELETE", "/api/v3/order"): _cancel_order,
    ("GET", "/api/v3/openOrders"): _open_orders,
    ("GET", "/api/v3/myTrades"): _my_trades,
    ("POST", "/api/v3/orderList/oco"): _new_oco,
    ("GET", "/api/v3/orderList"): _query_order_list,
    ("DELETE", "/api/v3/orderList"): _cancel_order_list,
}
