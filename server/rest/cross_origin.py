"""Refuse the REST API's state-changing requests sent by pages on untrusted origins.

A multipart ``POST /api/upload`` or a body-less ``POST /api/images/{id}/retry`` is a
"simple" request: any page can send it with ``fetch(..., {mode: "no-cors"})`` and no CORS
preflight stops it. The REST API's clients (curl, scripts, the original design's Node
clients) cannot be asked for a custom header as GraphQL's are (server/csrf.py), but they
send no ``Origin`` header, and browsers always send one on a cross-origin POST: so the
``Origin`` is what is checked.
"""

from __future__ import annotations

import logging

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from server.origins import origin_is_allowed
from server.resources import resources_of

_STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

logger = logging.getLogger(__name__)


class CrossOriginRefusalMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _STATE_CHANGING_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        # Read per request: the settings live in the resources the lifespan opened.
        if "origin" in headers:
            allowed_origins = resources_of(scope["app"]).settings.allowed_origins
            if not origin_is_allowed(headers, allowed_origins):
                origin = headers["origin"]
                logger.warning(
                    "refused %s %s from origin %r to host %r; add the origin to "
                    "ALLOWED_ORIGINS if its pages should act on this server",
                    scope["method"],
                    scope["path"],
                    origin,
                    headers.get("host"),
                )
                message = (
                    f"requests from pages on origin {origin!r} are refused: it is not this "
                    "server's origin nor in ALLOWED_ORIGINS"
                )
                await JSONResponse({"error": message}, status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)
