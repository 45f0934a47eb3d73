"""CSRF protection for GraphQL the way Apollo Server does it.

A browser sends a cross-site ``multipart/form-data``, ``application/x-www-form-urlencoded``
or ``text/plain`` POST without a CORS preflight, so such a request could be forged by any
page. Requiring a custom header forces a preflight, which a foreign origin fails. JSON
requests already force one through their content type.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

_SIMPLE_CONTENT_TYPES = frozenset(
    {"multipart/form-data", "application/x-www-form-urlencoded", "text/plain"}
)
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name")

CSRF_MESSAGE = (
    "This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). "
    "Please either specify a 'content-type' header (with a type that is not one of "
    "application/x-www-form-urlencoded, multipart/form-data, text/plain) or provide a "
    "non-empty value for one of the following headers: "
    "apollo-require-preflight, x-apollo-operation-name"
)


class CSRFPreventionMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and _needs_preflight(scope):
            response = JSONResponse({"errors": [{"message": CSRF_MESSAGE}]}, status_code=400)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _needs_preflight(scope: Scope) -> bool:
    headers = Headers(scope=scope)
    content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type not in _SIMPLE_CONTENT_TYPES:
        return False
    return not any(headers.get(name, "").strip() for name in PREFLIGHT_HEADERS)
