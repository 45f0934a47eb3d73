"""The ``stats`` query: what the dashboard shows, from the same SQL as ``imagequeue stats``."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from infra.broker.topology import JOB_QUEUE, job_queue_state
from infra.db.images import ImageStatus as StoredStatus
from infra.db.stats import count_by_status, processing_times, throughput_per_minute
from server.graphql.context import Context
from server.graphql.errors import UserFacingError
from server.service import database_errors

MAX_THROUGHPUT_MINUTES = 60


@strawberry.type(description="How many images are in each status.")
class StatusCounts:
    pending: int
    processing: int
    completed: int
    failed: int
    total: int


@strawberry.type(description="The job queue as the broker sees it.")
class QueueState:
    name: str
    waiting: int | None = strawberry.field(
        description="Jobs ready for a worker; null when the broker could not be asked."
    )
    consumers: int | None = strawberry.field(description="Workers' consumers attached.")
    error: str | None = strawberry.field(description="Why the broker could not be asked.")


@strawberry.type(description="Processing time of completed images, in seconds.")
class ProcessingTimes:
    completed: int = strawberry.field(description="Images the numbers are computed over.")
    average_s: float | None = strawberry.field(description="Mean of started → processed.")
    p50_s: float | None
    p95_s: float | None
    end_to_end_p50_s: float | None = strawberry.field(
        description="Created → processed, queueing included."
    )
    end_to_end_p95_s: float | None


@strawberry.type(description="Images that finished within one minute.")
class ThroughputMinute:
    minute: datetime
    completed: int
    failed: int


@strawberry.type(description="Counts, timings and the job queue, for a dashboard.")
class Stats:
    counts: StatusCounts
    queue: QueueState
    processing: ProcessingTimes
    throughput: list[ThroughputMinute] = strawberry.field(
        description="The last `throughputMinutes` minutes, oldest first, the current one last."
    )


async def resolve_stats(info: Info[Context, None], throughput_minutes: int) -> Stats:
    if not 1 <= throughput_minutes <= MAX_THROUGHPUT_MINUTES:
        raise UserFacingError(f"throughputMinutes must be between 1 and {MAX_THROUGHPUT_MINUTES}")
    context = info.context
    with database_errors("reading stats"):
        counts = await count_by_status(context.pool)
        times = await processing_times(context.pool)
        minutes = await throughput_per_minute(context.pool, throughput_minutes)
    return Stats(
        counts=StatusCounts(
            pending=counts[StoredStatus.PENDING],
            processing=counts[StoredStatus.PROCESSING],
            completed=counts[StoredStatus.COMPLETED],
            failed=counts[StoredStatus.FAILED],
            total=sum(counts.values()),
        ),
        queue=await _queue_state(context),
        processing=ProcessingTimes(
            completed=times.completed,
            average_s=times.processing_avg_s,
            p50_s=times.processing_p50_s,
            p95_s=times.processing_p95_s,
            end_to_end_p50_s=times.end_to_end_p50_s,
            end_to_end_p95_s=times.end_to_end_p95_s,
        ),
        throughput=[
            ThroughputMinute(minute=m.minute, completed=m.completed, failed=m.failed)
            for m in minutes
        ],
    )


async def _queue_state(context: Context) -> QueueState:
    try:
        waiting, consumers = await job_queue_state(context.broker)
    except Exception as exc:
        return QueueState(
            name=JOB_QUEUE, waiting=None, consumers=None, error=f"{type(exc).__name__}: {exc}"
        )
    return QueueState(name=JOB_QUEUE, waiting=waiting, consumers=consumers, error=None)
