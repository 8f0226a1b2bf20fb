"""The Binance provider: closed klines from the public REST API (`/api/v3/klines`, `/api/v3/time`).

The base URL is configurable (argument, else `$ATB_BINANCE_URL`, else `https://api.binance.com`),
so tests run against a local fake server and users can point at a mirror or testnet.

Behaviour:

- long ranges are paged, 1000 bars per request;
- HTTP 429/418 wait for `Retry-After` (a wait longer than `RetryPolicy.max_retry_after` is an
  error: a 418 ban can last hours); timeouts, connection errors, 5xx and undecodable JSON are
  retried with exponential backoff and jitter; retries are bounded and then a `DataError` says
  what kept failing; other 4xx (unknown symbol, ...) fail at once with Binance's message;
- the still-forming candle is never returned: only bars closed by the server's clock are;
- the result goes through `validate_candles` (with `repair=True`: a page boundary or a flaky
  server may repeat or reorder klines; conflicting duplicates are still an error).

`fetch_klines` and `server_time_ms` are public so the live feed can poll the latest closed bars
with the same client. Sleeping and jitter are injected so tests run without real waits.

Stopping: given a `StopToken` (`stop=`), every request runs through `StopToken.call` and every
retry wait through `StopToken.sleep`, so a stop ends a `Retry-After` wait, a backoff or a request
the server never answers at once, with `StopRequested`. Without one the client blocks as plain
httpx does (library callers, tests).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

import attrs
import numpy as np
import pandas as pd

from atb import __version__
from atb.data.candles import ValidatedCandles
from atb.data.schema import INDEX_NAME, OHLCV_COLUMNS
from atb.data.stop_token import StopToken
from atb.data.symbols import normalize_symbol
from atb.data.validation import validate_candles
from atb.deferred_modules import DeferredModule
from atb.domain.errors import DataError
from atb.domain.timeframes import Timeframe, parse_timeframe

if TYPE_CHECKING:
    import httpx
else:
    # Only a download needs the HTTP client: a backtest of a local file (every `load_candles`
    # imports this module) does not pay for importing it (~0.04 s).
    httpx = DeferredModule("httpx")

BINANCE_URL_ENV = "ATB_BINANCE_URL"
"""Environment variable overriding the exchange base URL."""

DEFAULT_BINANCE_URL = "https://api.binance.com"
"""Binance spot REST API."""

KLINES_PER_REQUEST = 1000
"""Binance's maximum `limit` for `/api/v3/klines`."""

_RATE_LIMITED = (429, 418)


class Sleeper(Protocol):
    """Waits for `seconds` (`time.sleep`, `StopToken.sleep`; tests pass a recorder that returns
    at once)."""

    def __call__(self, seconds: float, /) -> None: ...


Progress = Callable[[int], None]
"""Called after each page with the number of bar slots (timeframe steps) it covered."""


@attrs.frozen(slots=True)
class RetryPolicy:
    """Bounded retries: `attempts` tries per request, exponential backoff with jitter."""

    attempts: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    base_delay: float = attrs.field(default=0.5, validator=attrs.validators.ge(0.0))
    max_delay: float = attrs.field(default=30.0, validator=attrs.validators.ge(0.0))
    max_retry_after: float = attrs.field(default=300.0, validator=attrs.validators.ge(0.0))

    def backoff(self, retry: int, jitter: float) -> float:
        """Delay before retry number `retry` (0-based), `jitter` in [0, 1).

        "Equal jitter": half the exponential delay is fixed, half random, so clients that failed
        together do not retry together, yet every wait still grows.
        """
        delay = min(self.max_delay, self.base_delay * 2.0**retry)
        return delay * (0.5 + 0.5 * jitter)


def resolve_base_url(base_url: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """`base_url`, else `$ATB_BINANCE_URL`, else the Binance default; checked and without `/`."""
    environ = os.environ if env is None else env
    url = (base_url or environ.get(BINANCE_URL_ENV, "") or DEFAULT_BINANCE_URL).strip()
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DataError(f"invalid exchange URL {url!r}: expected http(s)://host[:port]")
    return url.rstrip("/")


def closed_end_ms(server_time_ms: int, timeframe: str | Timeframe) -> int:
    """Exclusive end of the closed bars at `server_time_ms`: bars opening before it are closed.

    A bar opening at `t` closes at `t + step - 1` (Binance's `closeTime`); it is closed once the
    server clock is past that, i.e. when `t + step <= server_time`.
    """
    step = parse_timeframe(timeframe).milliseconds
    return (server_time_ms // step) * step


class BinanceClient:
    """HTTP client for Binance klines. Use as a context manager, or call `close()`.

    `stop`: requests and retry waits end at once with `StopRequested` when it is set. `sleep`
    defaults to `stop.sleep` with a token, else `time.sleep`.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Sleeper | None = None,
        jitter: Callable[[], float] = random.random,
        env: Mapping[str, str] | None = None,
        stop: StopToken | None = None,
    ) -> None:
        self.base_url = resolve_base_url(base_url, env)
        self.retry = retry or RetryPolicy()
        self._stop = stop
        self._sleep: Sleeper = sleep or (stop.sleep if stop is not None else time.sleep)
        self._jitter = jitter
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": f"atb/{__version__}"},
        )

    def __enter__(self) -> BinanceClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def server_time_ms(self) -> int:
        """The exchange clock, in epoch milliseconds (`GET /api/v3/time`)."""
        payload = self._get_json("/api/v3/time", {})
        value = payload.get("serverTime") if isinstance(payload, dict) else None
        if not isinstance(value, int) or isinstance(value, bool):
            raise DataError(f"{self.base_url}/api/v3/time: unexpected response {payload!r:.200}")
        return value

    def symbol_rules(self, symbol: str) -> object:
        """The exchange's entry for `symbol` in `GET /api/v3/exchangeInfo` (tick, lot, minimums;
        parsed by `atb.data.exchange_rules`)."""
        pair = normalize_symbol(symbol)
        payload = self._get_json("/api/v3/exchangeInfo", {"symbol": pair})
        symbols = payload.get("symbols") if isinstance(payload, dict) else None
        if not isinstance(symbols, list):
            raise DataError(
                f"{self.base_url}/api/v3/exchangeInfo: unexpected response {payload!r:.200}"
            )
        for entry in symbols:
            if isinstance(entry, dict) and entry.get("symbol") == pair:
                return entry
        raise DataError(f"{self.base_url}/api/v3/exchangeInfo: no entry for {pair}")

    def fetch_klines(
        self,
        symbol: str,
        timeframe: str | Timeframe,
        start_ms: int,
        end_ms: int,
        *,
        server_time_ms: int | None = None,
        progress: Progress | None = None,
    ) -> ValidatedCandles:
        """Closed bars of `symbol` opening in `[start_ms, end_ms)`, validated.

        `server_time_ms` defaults to a fresh `server_time_ms()` call, made *before* any kline
        request, so a bar that closes while we page can never slip in half-formed.
        """
        pair = normalize_symbol(symbol)
        tf = parse_timeframe(timeframe)
        step = tf.milliseconds
        now = self.server_time_ms() if server_time_ms is None else server_time_ms
        end = min(end_ms, closed_end_ms(now, tf))
        rows: list[tuple[int, float, float, float, float, float]] = []
        cursor = start_ms
        while cursor < end:
            page = self._klines_page(pair, tf, cursor, end)
            # Guard against a server that serves a still-forming bar despite endTime.
            page = [row for row in page if row[0] + step <= now and start_ms <= row[0] < end]
            newest = max((row[0] for row in page), default=None)
            if newest is None:  # nothing more in range: the rest is a gap or not listed yet
                if progress:
                    progress((end - cursor) // step)
                break
            if newest < cursor:
                raise DataError(
                    f"{self.base_url}/api/v3/klines ({pair} {tf}): the server answered a "
                    f"request from {cursor} with older klines only; it ignores startTime"
                )
            rows.extend(page)
            advanced = newest + step
            if progress:
                progress((advanced - cursor) // step)
            cursor = advanced
        return validate_candles(
            _frame(rows),
            source=f"binance {pair} {tf} ({self.base_url})",
            timeframe=tf,
            repair=True,
        )

    def ask_next(self, symbol: str, timeframe: Timeframe | str, start_ms: int) -> None:
        """Ask for the bar opening at `start_ms` though the server's clock says it has not
        closed (an idle poll; the answer is not used: a forming bar never drives anything).
        A lockstep sandbox moves its clock on when asked for a bar it does not have yet."""
        tf = parse_timeframe(timeframe)
        self._klines_page(normalize_symbol(symbol), tf, start_ms, start_ms + tf.milliseconds)

    def _klines_page(
        self, symbol: str, tf: Timeframe, start_ms: int, end_ms: int
    ) -> list[tuple[int, float, float, float, float, float]]:
        params = {
            "symbol": symbol,
            "interval": tf.name,
            "startTime": str(start_ms),
            "endTime": str(end_ms - 1),  # Binance's endTime is inclusive
            "limit": str(KLINES_PER_REQUEST),
        }
        payload = self._get_json("/api/v3/klines", params)
        where = f"{self.base_url}/api/v3/klines ({symbol} {tf} from {start_ms})"
        if not isinstance(payload, list):
            raise DataError(f"{where}: expected a JSON array of klines, got {payload!r:.200}")
        return [_parse_kline(item, number, where) for number, item in enumerate(payload, 1)]

    def _get_json(self, path: str, params: Mapping[str, str]) -> object:
        """GET with bounded retries; returns the decoded JSON or raises `DataError`."""
        what = f"GET {self.base_url}{path}"
        problem = ""
        for attempt in range(self.retry.attempts):
            wait: float | None = None  # None: our own backoff; else what the server asked
            try:
                response = self._send(path, params)
            except httpx.TimeoutException as error:
                problem = f"timed out ({type(error).__name__})"
            except httpx.TransportError as error:
                problem = f"connection failed ({type(error).__name__}: {error})"
            else:
                status = response.status_code
                if status in _RATE_LIMITED:
                    wait = _retry_after(response)
                    if wait is not None and wait > self.retry.max_retry_after:
                        raise DataError(
                            f"{what}: HTTP {status}, the exchange asks to wait {wait:g} s "
                            f"(rate limit{' ban' if status == 418 else ''}); try again later"
                        )
                    problem = f"HTTP {status} (rate limited)"
                elif status >= 500:
                    problem = f"HTTP {status}"
                elif status >= 400:
                    raise DataError(f"{what}: HTTP {status}: {_error_message(response)}")
                else:
                    try:
                        return response.json()
                    except ValueError:
                        problem = f"malformed JSON in the response ({response.text[:80]!r})"
            if attempt + 1 < self.retry.attempts:
                self._sleep(
                    wait if wait is not None else self.retry.backoff(attempt, self._jitter())
                )
        raise DataError(
            f"{what}: giving up after {self.retry.attempts} attempts; last problem: {problem}"
        )

    def _send(self, path: str, params: Mapping[str, str]) -> httpx.Response:
        """One GET; with a stop token, in a worker the token abandons on a stop (a hung request
        cannot hold a stop up for the whole timeout, let alone every retry of it)."""
        if self._stop is None:
            return self._http.get(path, params=params)
        return self._stop.call(lambda: self._http.get(path, params=params))


def _retry_after(response: httpx.Response) -> float | None:
    header = response.headers.get("Retry-After")
    try:
        return max(0.0, float(header)) if header is not None else None
    except ValueError:
        return None  # an HTTP-date or garbage: fall back to our own backoff


def _error_message(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(payload, dict) and "msg" in payload:
        return f"{payload['msg']} (code {payload.get('code')})"
    return str(payload)[:200]


def _parse_kline(
    item: object, number: int, where: str
) -> tuple[int, float, float, float, float, float]:
    """One kline `[openTime, "open", "high", "low", "close", "volume", closeTime, ...]`."""
    try:
        if not isinstance(item, list) or len(item) < 7:
            raise TypeError("expected an array of at least 7 fields")
        open_time = item[0]
        if not isinstance(open_time, int) or isinstance(open_time, bool):
            raise TypeError("open time is not an integer")
        open_, high, low, close, volume = (float(item[i]) for i in range(1, 6))
    except (TypeError, ValueError) as error:
        raise DataError(f"{where}: malformed kline #{number} ({error}): {item!r:.200}") from error
    return (open_time, open_, high, low, close, volume)


def _frame(rows: list[tuple[int, float, float, float, float, float]]) -> pd.DataFrame:
    table = np.array(rows, dtype=np.float64).reshape(len(rows), 6)
    times = np.array([row[0] for row in rows], dtype=np.int64)
    index = pd.DatetimeIndex(pd.to_datetime(times, unit="ms", utc=True), name=INDEX_NAME)
    return pd.DataFrame(table[:, 1:], index=index, columns=list(OHLCV_COLUMNS))
