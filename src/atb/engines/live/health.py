"""The live engine's health endpoint: `GET /health` on 127.0.0.1, judged when it is asked.

The engine reports what happens (a poll starts, succeeds with the exchange's clock, fails; a
bar is processed; the state changes); the server thread turns that into a verdict at the moment
of the request, so a session stuck inside a hung request still reads as stale.

A session is **stale** when no poll has brought news for more than two poll intervals (news:
the exchange's clock moved on, or new bars arrived — a frozen exchange clock is no news), or
when the exchange's clock is more than two bars plus a poll interval past the last processed
bar's close. The endpoint answers **503** when the session is stale or stopped, 200 otherwise,
with a JSON body: `time` (now), `status` and `status_since`, `last_bar_time`,
`last_successful_poll`, `feed_lag_seconds`, `stale` and `stale_reason`, `error` (the current
one, cleared by the next successful poll) and `last_error` (the latest, with its time), plus the
session's equity and position.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from atb.domain.errors import AtbError

STALE_POLLS = 2
"""Poll intervals without news after which a session is stale."""


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, tz=UTC).isoformat().replace("+00:00", "Z")


class HealthState:
    """What the endpoint reports; written by the engine, judged by the server thread.

    `clock` returns the wall time in seconds (injected by tests).
    """

    def __init__(
        self,
        *,
        poll_interval: float = 60.0,
        bar_interval: timedelta | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.poll_interval = poll_interval
        self.bar_interval = bar_interval
        self._fields: dict[str, Any] = {}
        now = clock()
        self._status = "starting"
        self._status_since = now
        self._started = now
        self._fresh: float | None = None
        self._server_time: datetime | None = None
        self._last_bar: datetime | None = None
        self._error: tuple[str, float] | None = None
        self._last_error: tuple[str, float] | None = None

    def configure(self, *, poll_interval: float, bar_interval: timedelta) -> None:
        """Set the session's poll interval and bar length (they decide staleness)."""
        with self._lock:
            self.poll_interval = poll_interval
            self.bar_interval = bar_interval

    def update(self, **fields: Any) -> None:
        """Merge informational values (session, strategy, equity, position, …)."""
        with self._lock:
            self._fields.update(fields)

    def set_status(self, status: str) -> None:
        """The engine's state: starting, polling, running, catching_up, feed_error, stopped…"""
        with self._lock:
            if status != self._status:
                self._status = status
                self._status_since = self._clock()

    def poll_started(self) -> None:
        """A request to the exchange is about to be made."""
        self.set_status("polling")

    def poll_succeeded(self, server_time: datetime, *, new_bars: int) -> None:
        """A poll answered: news when the exchange's clock moved on or bars arrived."""
        with self._lock:
            advanced = self._server_time is None or server_time > self._server_time
            if advanced or new_bars:
                self._fresh = self._clock()
            self._server_time = server_time
            self._error = None

    def poll_failed(self, message: str) -> None:
        """A poll failed (the engine will retry)."""
        with self._lock:
            now = self._clock()
            self._error = (message, now)
            self._last_error = (message, now)

    def bar_processed(self, bar_time: datetime) -> None:
        """A closed bar was processed and committed."""
        with self._lock:
            self._last_bar = bar_time

    def snapshot(self) -> dict[str, Any]:
        """The report as of now (JSON-ready apart from datetimes, written with `str`)."""
        with self._lock:
            now = self._clock()
            stale_reason = self._stale_reason(now)
            lag = None
            if self._server_time is not None and self._last_bar is not None and self.bar_interval:
                lag = (self._server_time - (self._last_bar + self.bar_interval)).total_seconds()
            return {
                **self._fields,
                "time": _iso(now),
                "status": self._status,
                "status_since": _iso(self._status_since),
                "last_bar_time": self._last_bar,
                "last_successful_poll": _iso(self._fresh),
                "exchange_time": self._server_time,
                "feed_lag_seconds": lag,
                "stale": stale_reason is not None,
                "stale_reason": stale_reason,
                "error": None if self._error is None else self._error[0],
                "last_error": None
                if self._last_error is None
                else {"message": self._last_error[0], "time": _iso(self._last_error[1])},
            }

    def _stale_reason(self, now: float) -> str | None:
        if self._status == "stopped":
            return None
        limit = STALE_POLLS * self.poll_interval
        since = self._fresh if self._fresh is not None else self._started
        quiet = now - since
        if quiet > limit:
            what = "no poll has brought news" if self._fresh is not None else "no poll answered"
            return f"{what} for {quiet:.0f} s (more than {STALE_POLLS} poll intervals)"
        if self._server_time is not None and self._last_bar is not None and self.bar_interval:
            behind = self._server_time - (self._last_bar + self.bar_interval)
            allowed = STALE_POLLS * self.bar_interval + timedelta(seconds=self.poll_interval)
            if behind > allowed:
                return f"the last processed bar is {behind.total_seconds():.0f} s behind"
        return None

    def status_code(self, report: dict[str, Any]) -> int:
        """503 when the session is stale or stopped, 200 otherwise."""
        return 503 if report["stale"] or report["status"] == "stopped" else 200


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    health: HealthState


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        if self.path.rstrip("/") not in ("", "/health"):
            self.send_error(404, "try /health")
            return
        health = self.server.health
        report = health.snapshot()
        body = json.dumps(report, default=str).encode()
        self.send_response(health.status_code(report))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Silence the default access log (the engine logs what matters)."""


class HealthServer:
    """Serves a `HealthState` on 127.0.0.1:`port` (0 picks a free port) in a daemon thread."""

    def __init__(self, health: HealthState, port: int = 0) -> None:
        """Bind the port now (a port in use is an `AtbError` before anything else starts)."""
        try:
            self._server = _Server(("127.0.0.1", port), _Handler)
        except (OSError, OverflowError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise AtbError(f"--health-port {port}: cannot listen on 127.0.0.1: {reason}") from exc
        self._server.health = health
        # `stop()` waits for serve_forever to notice, up to one poll interval (0.5 s by
        # default): a short one keeps a stopping session's exit prompt.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        """The port actually bound."""
        return int(self._server.server_address[1])

    def start(self) -> HealthServer:
        """Start serving."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (if started) and release the port."""
        if self._thread.is_alive():
            # shutdown() waits for serve_forever, which never runs if start() was not called.
            self._server.shutdown()
        self._server.server_close()
