"""The dashboard's ASGI app (Starlette): one page, its assets, and two JSON documents.

- `GET /` — the page (`static/dashboard.html`); it polls the JSON every `poll_seconds`.
- `GET /static/{name}` — its script and style sheet, and plotly.js from the installed `plotly`
  package (the same bundle `report.html` inlines): nothing comes from a CDN.
- `GET /api/overview` — every session of every store, with its liveness and figures.
- `GET /api/stores/{store}/sessions/{session}` — one session's panel, with its parity badge.

Every response says `Cache-Control: no-store` and forbids framing, sniffing and referrers (the
URL may carry the token). `Guard` (`access`) wraps it all: token, GET only, Host.
"""

from __future__ import annotations

import html
import importlib.util
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import attrs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from atb.domain.errors import AtbError

from .access import Guard, is_local
from .parity_board import ParityBoard, ParityKey
from .payloads import Json, overview, session_panel
from .stores import StoreReader

STATIC = Path(__file__).with_name("static")
_ASSETS = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # plotly.js sets inline styles on the elements it draws; no inline script runs.
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'"
    ),
}


@attrs.frozen(slots=True)
class DashboardSettings:
    """What `atb dashboard` serves and how."""

    host: str = "127.0.0.1"
    """The address served (a local one gets the Host check)."""
    token: str | None = None
    poll_seconds: float = 2.0
    """How often the page asks for news."""
    parity_interval: float = 10.0
    """Seconds between two parity runs of one session that keeps getting bars."""


def plotly_bundle() -> Path:
    """The minified plotly.js the installed `plotly` package ships (found without importing
    plotly)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise AtbError("the plotly package is not installed; reinstall atb")
    return Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"


def json_response(document: object, status_code: int = 200) -> Response:
    """JSON with NaN and infinities as null (JSON has neither)."""
    body = json.dumps(_clean(document), separators=(",", ":"), allow_nan=False)
    return Response(body, status_code, _SECURITY_HEADERS, media_type="application/json")


def _clean(value: object) -> object:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    return value


def build_app(
    readers: list[StoreReader],
    settings: DashboardSettings,
    *,
    parity: ParityBoard | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ASGIApp:
    """The app over already opened stores, wrapped in its `Guard`."""
    board = parity or ParityBoard(
        [reader.path for reader in readers], min_interval=settings.parity_interval
    )
    page = (STATIC / "dashboard.html").read_text(encoding="utf-8")
    bundle = plotly_bundle()

    async def index(request: Request) -> Response:
        token = request.query_params.get("token")
        suffix = "" if token is None else f"?token={quote(token, safe='')}"
        body = page.replace("{{asset_query}}", html.escape(suffix, quote=True)).replace(
            "{{poll_ms}}", str(round(settings.poll_seconds * 1000))
        )
        return Response(body, 200, _SECURITY_HEADERS, media_type="text/html; charset=utf-8")

    async def asset(request: Request) -> Response:
        name = str(request.path_params["name"])
        if name == "plotly.min.js":
            return Response(
                bundle.read_bytes(), 200, _SECURITY_HEADERS, media_type=_ASSETS["dashboard.js"]
            )
        if name not in _ASSETS:
            return json_response({"error": f"no asset {name}"}, 404)
        body = (STATIC / name).read_bytes()
        return Response(body, 200, _SECURITY_HEADERS, media_type=_ASSETS[name])

    async def stores_overview(request: Request) -> Response:
        documents: list[Json] = []
        for reader in readers:
            sessions = await reader.read(overview)
            documents.append(
                {"index": reader.index, "path": str(reader.path), "sessions": sessions}
            )
        return json_response(
            {
                "generated_at": clock().isoformat().replace("+00:00", "Z"),
                "poll_seconds": settings.poll_seconds,
                "stores": documents,
            }
        )

    async def session(request: Request) -> Response:
        index = int(request.path_params["store"])
        session_id = int(request.path_params["session"])
        if not 0 <= index < len(readers):
            return json_response({"error": f"no store {index}"}, 404)
        reader = readers[index]
        now = clock()
        try:
            panel = await reader.read(
                lambda store, holder: session_panel(store, session_id, holder, now=now)
            )
        except AtbError as error:
            return json_response({"error": str(error)}, 404)
        document = panel.document
        if panel.portfolio is not None:
            verdict: Json = {
                "state": "unavailable",
                "reason": f"a member of portfolio {panel.portfolio}: "
                f"`atb parity --portfolio {panel.portfolio}` compares the whole account",
            }
        elif not panel.bars:
            verdict = {"state": "unavailable", "reason": "no bar processed yet"}
        else:
            progress = f"{panel.last_bar_time} ({panel.bars} bars)"
            verdict = board.verdict(ParityKey(index, session_id, progress))
        document["parity"] = verdict
        document["store"] = {"index": index, "path": str(reader.path)}
        return json_response(document)

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/static/{name:str}", asset, methods=["GET"]),
        Route("/api/overview", stores_overview, methods=["GET"]),
        Route("/api/stores/{store:int}/sessions/{session:int}", session, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    hosts = None
    if is_local(settings.host):
        hosts = frozenset({"127.0.0.1", "localhost", "::1", settings.host.strip("[]").lower()})
    return Guard(app, token=settings.token, hosts=hosts)
