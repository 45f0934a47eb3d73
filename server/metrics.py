"""``/metrics``: Prometheus text, with the job queue's depth read at scrape time."""

from __future__ import annotations

import logging

from aio_pika.abc import AbstractConnection
from starlette.requests import Request
from starlette.responses import Response

from infra import metrics
from infra.broker.topology import JOB_QUEUE, job_queue_state
from server.resources import resources_of

log = logging.getLogger(__name__)


async def refresh_queue_gauges(broker: AbstractConnection) -> None:
    """Record the job queue's depth and consumers; on failure clear the gauges, since no
    number is better than a stale one."""
    try:
        messages, consumers = await job_queue_state(broker)
    except Exception as exc:
        log.warning("queue state unavailable", extra={"queue": JOB_QUEUE, "error": repr(exc)})
        metrics.QUEUE_MESSAGES.clear()
        metrics.QUEUE_CONSUMERS.clear()
        return
    metrics.QUEUE_MESSAGES.labels(JOB_QUEUE).set(messages)
    metrics.QUEUE_CONSUMERS.labels(JOB_QUEUE).set(consumers)


async def metrics_endpoint(request: Request) -> Response:
    await refresh_queue_gauges(resources_of(request.app).broker)
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)
