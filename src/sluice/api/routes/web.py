"""The web chat and the embeddable widget: static pages served by the app.

``/chat/{flowId}`` (and ``/`` for the default flow) is one HTML page whose modules read
the flow id from the address; ``/embed.js`` is the widget's one script; ``/web/<file>``
are the page's assets. They are plain files in ``sluice/web``, shipped in the package:
no build step. The page's Content-Security-Policy allows only its own scripts, so even a
renderer bug could not run script that model output smuggled in.
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request, Response

from sluice.api.errors import APIError

router = APIRouter(tags=["web"], include_in_schema=False)

WEB_DIR = Path(__file__).resolve().parents[2] / "web"

ASSETS = {
    "chat.js": "text/javascript",
    "api.js": "text/javascript",
    "sse.js": "text/javascript",
    "markdown.js": "text/javascript",
    "message.js": "text/javascript",
    "chat.css": "text/css",
}

PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors *"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}

ASSET_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


@cache
def _read(name: str) -> bytes:
    return (WEB_DIR / name).read_bytes()


def _page(request: Request) -> Response:
    root = html.escape(request.scope.get("root_path", "").rstrip("/"), quote=True)
    body = _read("chat.html").replace(b"{root}", root.encode())
    return Response(body, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


@router.get("/")
async def default_chat(request: Request) -> Response:
    """The web chat of the default flow."""
    return _page(request)


@router.get("/chat/{flow_id}")
async def chat_page(flow_id: str, request: Request) -> Response:
    """The web chat of ``flow_id`` (an unknown flow is reported inside the page)."""
    return _page(request)


@router.get("/embed.js")
async def embed_script() -> Response:
    """The widget: one ``<script>`` tag with ``data-flow`` and ``data-url``."""
    headers = {**ASSET_HEADERS, "Access-Control-Allow-Origin": "*"}
    return Response(_read("embed.js"), media_type="text/javascript", headers=headers)


@router.get("/web/{name}")
async def asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise APIError(404, "not_found", f"no web asset {name!r}", field="name")
    return Response(_read(name), media_type=media_type, headers=ASSET_HEADERS)
