"""``/healthz`` (database and broker connections) and ``/readyz`` (database and writable
storage; the broker's state is reported but does not count).

``/healthz`` keeps the answer clients of the first release rely on. ``/readyz`` is what a
load balancer or compose health check should use: an instance that cannot store an upload
must not get one. One that cannot reach the broker can: the upload's job waits in the
outbox (``job_outbox``) and is published when the broker is back, so a broker restart must
not take every instance out of rotation at once. ``imagequeue_outbox_*`` shows the jobs
waiting.
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
    database = await check_database(resources.pool)
    storage = await check_storage(resources.storage)
    status, body = report({"database": database, "storage": storage})
    # Shown for whoever reads the answer, not counted: see the module's docstring.
    body["broker"] = check_broker(resources.broker, resources.channel)
    return JSONResponse(body, status_code=status)
