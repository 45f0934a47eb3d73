"""``/healthz`` (database and broker connections) and ``/readyz`` (those, plus writable storage).

``/healthz`` keeps the answer clients of the first release rely on. ``/readyz`` is what a
load balancer or compose health check should use: an instance that cannot store an upload
must not get one.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from infra.health import check_broker, check_database, check_storage, report
from server.resources import resources_of


async def healthz(request: Request) -> JSONResponse:
    resources = resources_of(request.app)
    status, body = report(
        {
            "database": await check_database(resources.pool),
            "broker": check_broker(resources.broker, resources.channel),
        }
    )
    return JSONResponse(body, status_code=status)


async def readyz(request: Request) -> JSONResponse:
    resources = resources_of(request.app)
    status, body = report(
        {
            "database": await check_database(resources.pool),
            "broker": check_broker(resources.broker, resources.channel),
            "storage": await check_storage(resources.storage),
        }
    )
    return JSONResponse(body, status_code=status)
