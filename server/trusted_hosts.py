"""Refuse requests and WebSocket handshakes for a ``Host`` the server does not answer to.

This is what stops DNS rebinding (infra/allowed_hosts.py): without it a page on another
site can upload, delete, requeue and read everything through a local server. Starlette's
``TrustedHostMiddleware`` decides; this only answers its refusals the way the API's other
refusals are answered (JSON, ``error`` for REST and ``errors`` for GraphQL, as the body cap
does), says which setting to change, and lets the probes through.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra.allowed_hosts import ANY_HOST

PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Answered whatever the ``Host``: orchestrators and Prometheus probe by a pod's address or a
service name, which ``ALLOWED_HOSTS`` would have to list, and the answers hold no image."""

_SHOWN_HOST_CHARS = 100
"""uvicorn takes headers of any size: echo and log no more of one than a host name needs."""

logger = logging.getLogger(__name__)


class TrustedHostRefusalMiddleware:
    """Answers only requests whose ``Host`` matches ``allowed_hosts`` (Starlette's patterns)."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        self.allowed_hosts = list(allowed_hosts)
        self.allow_any = ANY_HOST in self.allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.allow_any
            or scope["type"] not in ("http", "websocket")
            or scope["path"] in PROBE_PATHS
        ):
            await self.app(scope, receive, send)
            return
        allowed = False

        async def through(inner_scope: Scope, inner_receive: Receive, _: Send) -> None:
            nonlocal allowed
            allowed = True
            await self.app(inner_scope, inner_receive, send)

        async def discard(_: Message) -> None:
            """Starlette's own refusal, plain text; ours follows."""

        # Built per request because it is what tells us whether it let the request through;
        # no redirect to "www.": a redirect would take an upload's POST elsewhere.
        check = TrustedHostMiddleware(through, allowed_hosts=self.allowed_hosts, www_redirect=False)
        await check(scope, receive, discard)
        if not allowed:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        host = Headers(scope=scope).get("host")
        shown = None if host is None else host[:_SHOWN_HOST_CHARS]
        what = "WebSocket" if scope["type"] == "websocket" else scope["method"]
        logger.warning(
            "refused %s %s for host %r; add it to ALLOWED_HOSTS if clients reach this "
            "server by that name",
            what,
            scope["path"],
            shown,
        )
        message = (
            "requests without a Host header are refused"
            if shown is None
            else f"host {shown!r} is not one this server answers to (see ALLOWED_HOSTS)"
        )
        if scope["type"] == "websocket" and "websocket.http.response" not in scope.get(
            "extensions", {}
        ):
            # A server that cannot answer a handshake with a response refuses it (403).
            await send({"type": "websocket.close", "code": 1008, "reason": ""})
            return
        response = JSONResponse({"error": message, "errors": [{"message": message}]}, 400)
        await response(scope, receive, send)
