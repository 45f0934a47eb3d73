"""Which pages may act on this server: one rule for the GraphQL WebSocket and the REST API.

Strawberry refuses a WebSocket handshake from a page on another origin unless that origin is
in ``ALLOWED_ORIGINS`` (``AsyncBaseHTTPView._check_websocket_origin``). The REST API's
state-changing requests are held to the same rule, built from the same helpers, so that an
origin is either trusted by both or by neither. The same origins get CORS (Starlette's
``CORSMiddleware``), so that their pages can also send GraphQL requests, which a browser
preflights, and read the answers: a web app served from another origin than the API works.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from strawberry.http.websocket_origin import (
    is_same_origin,
    normalize_allowed_origins,
    normalize_origin,
)

from server.csrf import PREFLIGHT_HEADERS


def origin_is_allowed(headers: Mapping[str, str], allowed_origins: Collection[str]) -> bool:
    """Whether a request with these (lowercase-named) headers comes from a trusted page.

    No ``Origin`` header means no browser page sent it (browsers send one on every
    cross-origin POST and WebSocket handshake), so there are no ambient credentials to abuse.
    """
    origin = headers.get("origin")
    if origin is None:
        return True
    if headers.get("sec-fetch-site") == "same-origin" or is_same_origin(
        origin, headers.get("host")
    ):
        return True
    allowed = normalize_allowed_origins(allowed_origins)
    if "*" in allowed:
        return True
    return normalize_origin(origin) in allowed


def cors_middleware(allowed_origins: Collection[str]) -> list[Middleware]:
    """CORS for the pages of ``allowed_origins``; none when it is empty (same origin only).

    No credentials: the API authenticates nobody by cookie, so answers are the same for
    any caller and a page needs none to read them.
    """
    if not allowed_origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=sorted(normalize_allowed_origins(allowed_origins)),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["content-type", *PREFLIGHT_HEADERS],
            expose_headers=["content-disposition", "retry-after"],
            max_age=600,
        )
    ]
