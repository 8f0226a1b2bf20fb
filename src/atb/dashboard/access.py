"""Who may read the dashboard, and how: a token off localhost, GET only.

- **Local by default.** On 127.0.0.1, localhost or ::1 no token is needed; any other address
  needs one (`--token` or `ATB_DASHBOARD_TOKEN`), or the dashboard refuses to start. A local
  dashboard also checks the `Host` header, so a web page elsewhere cannot reach it by pointing
  a domain of its own at 127.0.0.1 (DNS rebinding).
- **Every request carries the token** when one is configured: the page, its assets, the JSON.
  Either `Authorization: Bearer TOKEN` or `?token=TOKEN` (the page passes it on to its own
  requests); anything else is 401. Compared in constant time; never logged or echoed.
- **Read-only.** Only GET and HEAD are served; every other method is 405, on every path.
"""

from __future__ import annotations

import hmac

from starlette.datastructures import Headers, QueryParams
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
"""Addresses a dashboard may bind without a token."""

TOKEN_VARIABLE = "ATB_DASHBOARD_TOKEN"
"""The environment variable a token may come from instead of `--token`."""

READ_METHODS = frozenset({"GET", "HEAD"})


def is_local(host: str) -> bool:
    """True for a loopback address the dashboard may bind without a token."""
    return host.strip("[]").lower() in LOCAL_HOSTS


def presented_token(headers: Headers, query: QueryParams) -> str | None:
    """The token a request carries: its bearer header, else its `token` query parameter."""
    authorization = headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return query.get("token")


def token_matches(given: str | None, token: str) -> bool:
    """Constant-time comparison (no early exit that would time the matching prefix)."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode(), token.encode())


class Guard:
    """ASGI middleware: 401 without the token (when one is set), 405 for a method that is not
    a read, 400 for a `Host` a local dashboard does not answer to; then the app."""

    def __init__(self, app: ASGIApp, *, token: str | None, hosts: frozenset[str] | None) -> None:
        self.app = app
        self.token = token
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal: PlainTextResponse | None = None
        if self.token is not None and not token_matches(
            presented_token(headers, QueryParams(scope.get("query_string", b""))), self.token
        ):
            refusal = PlainTextResponse(
                "401 unauthorized: this dashboard needs its token (Authorization: Bearer TOKEN, "
                "or ?token=TOKEN)\n",
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        elif scope["method"] not in READ_METHODS:
            refusal = PlainTextResponse(
                "405 method not allowed: the dashboard is read-only\n",
                status_code=405,
                headers={"Allow": "GET, HEAD"},
            )
        elif self.hosts is not None and _host_name(headers.get("host", "")) not in self.hosts:
            refusal = PlainTextResponse("400 bad request: unknown Host\n", status_code=400)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _host_name(header: str) -> str:
    """`127.0.0.1:8050` → `127.0.0.1`, `[::1]:8050` → `::1`."""
    if header.startswith("["):
        return header[1:].partition("]")[0].lower()
    return header.rpartition(":")[0].lower() if ":" in header else header.lower()
