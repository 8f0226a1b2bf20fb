"""The live engine's health endpoint: `GET /health` on 127.0.0.1 answers JSON with the last
bar time, lag (by the exchange clock), position, equity and state."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs


@attrs.define
class HealthState:
    """What the endpoint reports; updated by the engine, read by the server thread."""

    fields: dict[str, Any] = attrs.field(factory=dict)
    _lock: threading.Lock = attrs.field(factory=threading.Lock)

    def update(self, **fields: Any) -> None:
        """Merge new values."""
        with self._lock:
            self.fields.update(fields)

    def snapshot(self) -> dict[str, Any]:
        """A copy of the current values."""
        with self._lock:
            return dict(self.fields)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    health: HealthState


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        if self.path.rstrip("/") not in ("", "/health"):
            self.send_error(404, "try /health")
            return
        body = json.dumps(self.server.health.snapshot(), default=str).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Silence the default access log (the engine logs what matters)."""


class HealthServer:
    """Serves a `HealthState` on 127.0.0.1:`port` (0 picks a free port) in a daemon thread."""

    def __init__(self, health: HealthState, port: int = 0) -> None:
        self._server = _Server(("127.0.0.1", port), _Handler)
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
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
