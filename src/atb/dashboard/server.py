"""Serving the dashboard: bind the address first (a port in use is one line, not a traceback),
then hand the socket to uvicorn, quiet (no access log: URLs may carry the token)."""

from __future__ import annotations

import errno
import signal
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn
from starlette.types import ASGIApp

from atb.domain.errors import AtbError


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on `host:port` (port 0: a free one); `AtbError` naming the address
    when it cannot be had."""
    try:
        infos = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as error:
        raise AtbError(
            f"--host {host}: not an address of this machine ({error.strerror})"
        ) from None
    family, kind, proto, _name, address = infos[0]
    listener = socket.socket(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(128)
    except OSError as error:
        listener.close()
        where = f"{url_host(host)}:{port}"
        if error.errno == errno.EADDRINUSE:
            raise AtbError(
                f"--port {port}: {where} is already in use (another dashboard?); choose another "
                "port, or --port 0 for a free one"
            ) from None
        raise AtbError(f"cannot listen on {where}: {error.strerror or error}") from None
    listener.set_inheritable(True)
    return listener


def url_host(host: str) -> str:
    """The host as a URL writes it (`[::1]` for IPv6)."""
    bare = host.strip("[]")
    return f"[{bare}]" if ":" in bare else bare


class _Server(uvicorn.Server):
    """uvicorn's server, ending with exit 0 on SIGINT/SIGTERM, announcing itself once it
    listens with its signal handlers in place (a Ctrl-C right after the line stops it)."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's start-up, then the announcement."""
        await super().startup(sockets=sockets)
        self.on_ready()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Stop serving (a second Ctrl-C: at once). Unlike uvicorn, the signal is not raised
        again after the shutdown: a stop is the dashboard's normal end, as for `atb live`."""
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        else:
            self.should_exit = True


def serve(app: ASGIApp, listener: socket.socket, on_ready: Callable[[int], None]) -> None:
    """Serve `app` on the bound socket until SIGINT/SIGTERM; `on_ready(port)` runs once it
    listens (uvicorn installs its signal handlers before starting: a signal from then on is a
    clean stop)."""
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=2,
    )
    port = int(listener.getsockname()[1])
    _Server(config, lambda: on_ready(port)).run(sockets=[listener])
