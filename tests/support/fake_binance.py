"""A fake Binance: a real HTTP server on 127.0.0.1 serving klines and server time from frames.

Tests of the Binance provider (and, later, of the live feed) talk to it over real sockets, so
they exercise the actual HTTP client, paging, retries and parsing; nothing is mocked.

Usage::

    with FakeBinance(candles, symbol="BTCUSDT", timeframe="1h") as fake:
        client = BinanceClient(fake.url, sleep=recorder)
        fake.rate_limit(times=2, retry_after=1)      # the next 2 requests get HTTP 429
        frame = client.fetch_klines("BTCUSDT", "1h", start_ms, end_ms)
        assert [r.status for r in fake.requests][:2] == [429, 429]

Endpoints (Binance semantics):

- `GET /api/v3/time` → `{"serverTime": <clock ms>}`.
- `GET /api/v3/exchangeInfo?symbol=` → `{"symbols": [entry]}` with the symbol's PRICE_FILTER,
  LOT_SIZE and NOTIONAL filters (`set_rules`; `DEFAULT_RULES` for a listed symbol without).
- `GET /api/v3/klines?symbol=&interval=&startTime=&endTime=&limit=` → array of arrays
  `[openTime, "open", "high", "low", "close", "volume", closeTime, "quoteVolume", trades,
  "takerBase", "takerQuote", "0"]` with prices as strings. Bars with `startTime <= openTime <=
  endTime`; `limit` defaults to 500 and must be 1..1000. Without `startTime` the *latest*
  `limit` bars (up to `endTime`) are served. Unknown symbol/interval or a bad limit → HTTP 400
  with Binance's `{"code": ..., "msg": ...}` body.

The server clock (`now_ms`) decides what exists: bars opening after it are not served; the bar
containing it is served as *forming* (partial close, high, low and volume — values that differ
from the final bar so a client that keeps it is caught). The clock starts at the end of the
first series (every bar closed) unless given; `set_clock`, `advance` and a `speed` factor (the
clock then runs at `speed` × real time) move it, e.g. to drive a live feed at high speed.

Faults are queued and consumed one per matching request (`times=None` means every request):
`rate_limit` (429/418 + Retry-After), `fail` (5xx), `slow` (delay before answering, to trigger
client timeouts), `hang` (accept the request and never answer until `release()` or `stop()`: a
server that keeps the connection open but is stuck), `malformed_json`, `duplicate_klines`,
`shuffle_klines` (out of order) and `conflicting_klines` (same open time, different prices), and
`respond_with` (any JSON payload, e.g. a wrong shape). `requests` logs every request;
`pending()` lists those still unanswered (held by a `slow` or `hang` fault), so a test can act
while a client is stuck in a request.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from atb.data.schema import OHLCV_COLUMNS
from atb.domain.timeframes import parse_timeframe

KLINES = "/api/v3/klines"
TIME = "/api/v3/time"
EXCHANGE_INFO = "/api/v3/exchangeInfo"

DEFAULT_RULES = {
    "tick_size": "0.01",
    "step_size": "0.00001",
    "min_qty": "0.00001",
    "min_notional": "5",
}
"""The fake's listing rules for a symbol nobody set rules for (BTCUSDT-like)."""


@attrs.frozen
class RecordedRequest:
    """One request as the server saw it."""

    path: str
    params: Mapping[str, str]
    status: int | None
    """HTTP status sent; None while the answer is still pending (a `slow` or `hang` fault)."""
    fault: str | None
    clock_ms: int


@attrs.define
class _Fault:
    kind: str
    remaining: int | None
    path: str | None
    status: int = 200
    retry_after: float | None = None
    delay: float = 0.0
    payload: object = None

    def matches(self, path: str) -> bool:
        return (self.remaining is None or self.remaining > 0) and self.path in (None, path)


@attrs.frozen
class _Series:
    step_ms: int
    open_ms: NDArray[np.int64]
    values: NDArray[np.float64]  # open, high, low, close, volume

    @classmethod
    def of(cls, candles: pd.DataFrame, step_ms: int) -> _Series:
        index = candles.index
        assert isinstance(index, pd.DatetimeIndex), "candles need a DatetimeIndex"
        open_ms = index.as_unit("ns").asi8 // 1_000_000
        values = candles[list(OHLCV_COLUMNS)].to_numpy(dtype=np.float64)
        return cls(step_ms, np.ascontiguousarray(open_ms), np.ascontiguousarray(values))


class FakeBinance:
    """The fake exchange. Start it with `with` (or `start()`/`stop()`); `url` is its base URL."""

    def __init__(
        self,
        candles: pd.DataFrame | None = None,
        *,
        symbol: str = "BTCUSDT",
        timeframe: str = "1h",
        clock_ms: int | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str], _Series] = {}
        self._rules: dict[str, dict[str, str]] = {}
        self._faults: list[_Fault] = []
        self._log: list[RecordedRequest] = []
        self._clock_ms = 0
        self._clock_set_at = time.monotonic()
        self._speed = 0.0
        # Set by `release()`/`stop()` to let hung requests go; replaced after each release so
        # later `hang` faults hang again.
        self._released = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        if candles is not None:
            self.add_series(symbol, timeframe, candles)
        if clock_ms is not None:
            self.set_clock(clock_ms)
        elif candles is not None and len(candles):
            series = self._series[(symbol, timeframe)]
            self.set_clock(int(series.open_ms[-1]) + series.step_ms)

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeBinance:
        """Bind a free port on 127.0.0.1 and serve in a background thread."""
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port (hung requests are released; sleeping ones abandoned)."""
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeBinance:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:54321` (only while running)."""
        if self._server is None:
            raise RuntimeError("FakeBinance is not running; use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # --- market data -----------------------------------------------------------------------

    def set_rules(
        self,
        symbol: str,
        *,
        tick_size: str,
        step_size: str,
        min_qty: str,
        min_notional: str,
        base: str = "",
        quote: str = "",
    ) -> None:
        """The trading rules `/api/v3/exchangeInfo` lists for `symbol` (decimal strings, as
        Binance sends them)."""
        with self._lock:
            self._rules[symbol] = {
                "tick_size": tick_size,
                "step_size": step_size,
                "min_qty": min_qty,
                "min_notional": min_notional,
                "base": base,
                "quote": quote,
            }

    def add_series(self, symbol: str, timeframe: str, candles: pd.DataFrame) -> None:
        """Serve `candles` (a candle frame: UTC index of open times, OHLCV columns)."""
        step = parse_timeframe(timeframe).milliseconds
        with self._lock:
            self._series[(symbol, timeframe)] = _Series.of(candles, step)

    # --- clock -----------------------------------------------------------------------------

    def now_ms(self) -> int:
        """The server clock, epoch milliseconds."""
        with self._lock:
            return self._now_locked()

    def set_clock(self, when: int | pd.Timestamp, *, speed: float | None = None) -> None:
        """Set the clock (epoch ms or a timestamp); `speed` > 0 makes it run (× real time)."""
        millis = when if isinstance(when, int) else int(when.value // 1_000_000)
        with self._lock:
            self._clock_ms = millis
            self._clock_set_at = time.monotonic()
            if speed is not None:
                self._speed = speed

    def advance(self, milliseconds: int) -> None:
        """Move the clock forward by `milliseconds`."""
        with self._lock:
            self._clock_ms = self._now_locked() + milliseconds
            self._clock_set_at = time.monotonic()

    def _now_locked(self) -> int:
        elapsed = (time.monotonic() - self._clock_set_at) * 1000.0 * self._speed
        return self._clock_ms + int(elapsed)

    # --- faults ----------------------------------------------------------------------------

    def rate_limit(
        self,
        times: int | None = 1,
        *,
        retry_after: float | None = 1.0,
        status: int = 429,
        path: str | None = None,
    ) -> None:
        """Answer the next `times` requests with 429 (or 418) and a `Retry-After` header."""
        self._add(_Fault("rate_limit", times, path, status=status, retry_after=retry_after))

    def fail(self, times: int | None = 1, *, status: int = 500, path: str | None = None) -> None:
        """Answer the next `times` requests with a server error."""
        self._add(_Fault("fail", times, path, status=status))

    def slow(self, times: int | None = 1, *, delay: float = 1.0, path: str | None = None) -> None:
        """Wait `delay` seconds before answering the next `times` requests."""
        self._add(_Fault("slow", times, path, delay=delay))

    def hang(self, times: int | None = 1, *, path: str | None = None) -> None:
        """Accept the next `times` requests and send nothing until `release()` (or `stop()`).

        The connection stays open and silent, as with an exchange whose backend is stuck: a
        client blocks for its whole read timeout.
        """
        self._add(_Fault("hang", times, path))

    def release(self) -> None:
        """Let every hung request go on; they are then answered normally."""
        with self._lock:
            released, self._released = self._released, threading.Event()
        released.set()

    def malformed_json(self, times: int | None = 1, *, path: str | None = None) -> None:
        """Answer with a truncated JSON body (HTTP 200)."""
        self._add(_Fault("malformed_json", times, path))

    def duplicate_klines(self, times: int | None = 1) -> None:
        """Repeat every kline of the next `times` kline responses."""
        self._add(_Fault("duplicate_klines", times, KLINES))

    def shuffle_klines(self, times: int | None = 1) -> None:
        """Serve the next `times` kline responses in reverse (out-of-order) order."""
        self._add(_Fault("shuffle_klines", times, KLINES))

    def conflicting_klines(self, times: int | None = 1) -> None:
        """Add a second, different kline with the same open time as the first one."""
        self._add(_Fault("conflicting_klines", times, KLINES))

    def respond_with(
        self, payload: object, times: int | None = 1, *, status: int = 200, path: str = KLINES
    ) -> None:
        """Answer the next `times` requests to `path` with this JSON `payload` (wrong shapes)."""
        self._add(_Fault("payload", times, path, status=status, payload=payload))

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._faults.clear()

    def _add(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(path):
                if fault.remaining is not None:
                    fault.remaining -= 1
                return fault
        return None

    # --- request log -----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._log)

    def pending(self) -> list[RecordedRequest]:
        """The requests not answered yet (held by a `slow` or `hang` fault), in arrival order."""
        return [request for request in self.requests if request.status is None]

    def kline_requests(self) -> Iterator[RecordedRequest]:
        """The logged requests to the klines endpoint."""
        return (r for r in self.requests if r.path == KLINES)

    # --- request handling (called from server threads) -------------------------------------

    def _respond(self, path: str, params: dict[str, str]) -> _Response:
        with self._lock:
            fault = self._take_fault(path)
            now = self._now_locked()
            # Logged in arrival order; the status is filled in once the answer is ready.
            slot = len(self._log)
            entry = RecordedRequest(path, params, None, fault.kind if fault else None, now)
            self._log.append(entry)
            released = self._released
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        elif fault is not None and fault.kind == "hang":
            released.wait()
        response = self._answer(path, params, now, fault)
        with self._lock:
            self._log[slot] = attrs.evolve(entry, status=response.status)
        return response

    def _answer(
        self, path: str, params: dict[str, str], now: int, fault: _Fault | None
    ) -> _Response:
        kind = fault.kind if fault is not None else None
        if fault is not None and kind == "rate_limit":
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            body = {"code": -1003, "msg": "Too many requests; rate limit exceeded."}
            return _Response.of_json(fault.status, body, headers)
        if fault is not None and kind == "fail":
            return _Response.of_json(fault.status, {"code": -1000, "msg": "Internal error."})
        if fault is not None and kind == "payload":
            return _Response.of_json(fault.status, fault.payload)
        if kind == "malformed_json":
            return _Response(200, b'[[1672531200000,"16541.77","16545', {})
        if path == TIME:
            return _Response.of_json(200, {"serverTime": now})
        if path == KLINES:
            return self._klines(params, now, kind)
        if path == EXCHANGE_INFO:
            return self._exchange_info(params)
        return _Response.of_json(404, {"code": -1, "msg": f"no such endpoint {path}"})

    def _exchange_info(self, params: dict[str, str]) -> _Response:
        symbol = params.get("symbol", "")
        with self._lock:
            listed = symbol in self._rules or any(name == symbol for name, _ in self._series)
            rules = {**DEFAULT_RULES, **self._rules.get(symbol, {})}
        if not listed:
            return _Response.of_json(400, {"code": -1121, "msg": "Invalid symbol."})
        quote = rules.get("quote") or ("USDT" if symbol.endswith("USDT") else symbol[-3:])
        base = rules.get("base") or symbol[: -len(quote)]
        entry = {
            "symbol": symbol,
            "status": "TRADING",
            "baseAsset": base,
            "quoteAsset": quote,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": rules["tick_size"],
                 "maxPrice": "1000000.00000000", "tickSize": rules["tick_size"]},
                {"filterType": "LOT_SIZE", "minQty": rules["min_qty"], "maxQty": "9000.00000000",
                 "stepSize": rules["step_size"]},
                {"filterType": "NOTIONAL", "minNotional": rules["min_notional"],
                 "applyMinToMarket": True, "maxNotional": "9000000.00000000"},
            ],
        }  # fmt: skip
        return _Response.of_json(200, {"timezone": "UTC", "symbols": [entry]})

    def _klines(self, params: dict[str, str], now: int, kind: str | None) -> _Response:
        with self._lock:
            series = self._series.get((params.get("symbol", ""), params.get("interval", "")))
            known_symbol = any(symbol == params.get("symbol") for symbol, _ in self._series)
        if series is None:
            if not known_symbol:
                return _Response.of_json(400, {"code": -1121, "msg": "Invalid symbol."})
            return _Response.of_json(400, {"code": -1120, "msg": "Invalid interval."})
        try:
            limit = int(params.get("limit", "500"))
            start = int(params["startTime"]) if "startTime" in params else None
            end = int(params["endTime"]) if "endTime" in params else None
        except ValueError:
            return _Response.of_json(
                400, {"code": -1100, "msg": "Illegal characters in parameter."}
            )
        if not 1 <= limit <= 1000:
            return _Response.of_json(400, {"code": -1130, "msg": "Invalid limit."})
        klines = _select(series, start, end, limit, now)
        if kind == "duplicate_klines":
            klines = [k for kline in klines for k in (kline, kline)]
        elif kind == "shuffle_klines":
            klines = klines[::-1]
        elif kind == "conflicting_klines" and klines:
            twin = list(klines[0])
            # Same open time, a higher high and close: a conflict no client may resolve.
            higher = _price(float(str(twin[2])) * 1.5)
            twin[2] = twin[4] = higher
            klines = [klines[0], twin, *klines[1:]]
        return _Response.of_json(200, klines)


def _select(
    series: _Series, start: int | None, end: int | None, limit: int, now: int
) -> list[list[object]]:
    """Binance's selection: open times in [start, end] that exist at `now`, `limit` of them."""
    times = series.open_ms
    lo = 0 if start is None else int(np.searchsorted(times, start, side="left"))
    last_open = now if end is None else min(end, now)
    hi = int(np.searchsorted(times, last_open, side="right"))
    lo, hi = (lo, min(hi, lo + limit)) if start is not None else (max(lo, hi - limit), hi)
    return [_kline(series, position, now) for position in range(lo, max(lo, hi))]


def _kline(series: _Series, position: int, now: int) -> list[object]:
    open_time = int(series.open_ms[position])
    open_, high, low, close, volume = (float(v) for v in series.values[position])
    elapsed = now - open_time
    if elapsed < series.step_ms:  # still forming: partial values, as the exchange would show
        fraction = elapsed / series.step_ms
        close = open_ + (close - open_) * fraction
        high, low = max(open_, close) * 1.0001, min(open_, close) * 0.9999
        volume *= fraction
    return [
        open_time,
        _price(open_),
        _price(high),
        _price(low),
        _price(close),
        _price(volume),
        open_time + series.step_ms - 1,
        _price(volume * close),
        int(volume * 10) + 1,
        _price(volume / 2),
        _price(volume * close / 2),
        "0",
    ]


def _price(value: float) -> str:
    """Binance prints 8 decimals; fall back to `repr` when that would change the float."""
    text = f"{value:.8f}"
    return text if float(text) == value else repr(value)


@attrs.frozen
class _Response:
    status: int
    body: bytes
    headers: Mapping[str, str]

    @classmethod
    def of_json(
        cls, status: int, payload: object, headers: Mapping[str, str] | None = None
    ) -> _Response:
        return cls(status, json.dumps(payload).encode(), dict(headers or {}))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeBinance

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        """A client that went away (killed, stopped, timed out) is no server error: say nothing.
        Anything else is printed with its traceback, as by default."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real exchange
    disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms ACK stalls

    def do_GET(self) -> None:
        server = self.server
        assert isinstance(server, _Server)
        parts = urlsplit(self.path)
        params = dict(parse_qsl(parts.query))
        response = server.fake._respond(parts.path, params)
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test): nothing to answer

    def log_message(self, format: str, *args: object) -> None:
        """Silence the default stderr access log."""
