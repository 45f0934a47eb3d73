"""``/healthz``: the state of the database and broker connections."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.resources import resources_of

_CHECK_TIMEOUT_S = 2.0


async def healthz(request: Request) -> JSONResponse:
    resources = resources_of(request.app)
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(resources.pool.fetchval("SELECT 1"), _CHECK_TIMEOUT_S)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"down: {type(exc).__name__}: {exc}"
    checks["broker"] = "down: connection closed" if resources.broker.is_closed else "ok"
    if resources.channel.is_closed:
        checks["broker"] = "down: channel closed"
    healthy = all(state == "ok" for state in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "unavailable", **checks},
        status_code=200 if healthy else 503,
    )
