"""``/metrics``: Prometheus text, with the job queue's depth and the outbox read at scrape time."""

from __future__ import annotations

import asyncio
import logging
import math

import asyncpg
from aio_pika.abc import AbstractConnection
from starlette.requests import Request
from starlette.responses import Response

from infra import metrics
from infra.broker.topology import JOB_QUEUE, job_queue_state
from infra.db import outbox
from server.resources import resources_of

log = logging.getLogger(__name__)

_OUTBOX_QUERY_TIMEOUT_S = 2.0
"""A scrape must answer while the database hangs; shorter than Prometheus' 10 s default."""


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


async def refresh_outbox_gauges(pool: asyncpg.Pool) -> None:
    """Record the jobs waiting in the outbox: what a broker outage (or a stuck relay)
    really costs, since uploads go on. NaN when the database cannot say."""
    entries: float
    oldest_s: float
    try:
        async with asyncio.timeout(_OUTBOX_QUERY_TIMEOUT_S):
            entries, oldest_s = await outbox.backlog(pool)
    except Exception as exc:
        log.warning("outbox state unavailable", extra={"error": repr(exc)})
        entries, oldest_s = math.nan, math.nan
    metrics.OUTBOX_PENDING.set(entries)
    metrics.OUTBOX_OLDEST_AGE_SECONDS.set(oldest_s)


async def metrics_endpoint(request: Request) -> Response:
    resources = resources_of(request.app)
    await refresh_queue_gauges(resources.broker)
    await refresh_outbox_gauges(resources.pool)
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)
