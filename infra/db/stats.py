"""Monitoring queries of the original design, as functions: counts by status and timings.

Shared by ``imagequeue stats`` and the GraphQL ``stats`` field (the web app's dashboard), so
both report the same numbers from the same SQL. A dashboard asks every few seconds, so
nothing here reads more than the recent rows (``images_processed_at_idx``), except the
counts by status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from infra.db.images import Executor, ImageStatus

RECENT_COMPLETED = 1000
"""Timings are over the images completed most recently, this many at most: they say how
the service does now, and reading every image ever completed grew with history."""


@dataclass(frozen=True, slots=True)
class ProcessingTimes:
    """Percentiles over the most recently completed images, in seconds; None when none."""

    completed: int
    """How many images the numbers are over (at most ``RECENT_COMPLETED``)."""
    processing_p50_s: float | None
    processing_p95_s: float | None
    """``started_at`` → ``processed_at``: the worker's time on the last attempt."""
    end_to_end_p50_s: float | None
    end_to_end_p95_s: float | None
    """``created_at`` → ``processed_at``: what the uploader waited, queueing included."""
    processing_avg_s: float | None = None
    """Mean of ``started_at`` → ``processed_at``."""


@dataclass(frozen=True, slots=True)
class MinuteCount:
    """Images that reached a final status within one wall-clock minute."""

    minute: datetime
    completed: int
    failed: int


async def count_by_status(db: Executor) -> dict[ImageStatus, int]:
    """Every status, including the ones with no image (0)."""
    rows = await db.fetch("SELECT status, count(*) AS n FROM images GROUP BY status")
    counts = dict.fromkeys(ImageStatus, 0)
    counts.update({ImageStatus(row["status"]): row["n"] for row in rows})
    return counts


async def processing_times(db: Executor, *, latest: int = RECENT_COMPLETED) -> ProcessingTimes:
    # EXTRACT gives numeric; percentile_cont interpolates over double precision.
    row = await db.fetchrow(
        """
        WITH recent AS (
            SELECT created_at, started_at, processed_at
            FROM images
            WHERE status = 'completed' AND processed_at IS NOT NULL AND started_at IS NOT NULL
            ORDER BY processed_at DESC
            LIMIT $1
        )
        SELECT count(*) AS completed,
               percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (
                   ORDER BY EXTRACT(EPOCH FROM processed_at - started_at)::float8
               ) AS processing_s,
               percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (
                   ORDER BY EXTRACT(EPOCH FROM processed_at - created_at)::float8
               ) AS end_to_end_s,
               avg(EXTRACT(EPOCH FROM processed_at - started_at)::float8) AS processing_avg_s
        FROM recent
        """,
        latest,
    )
    assert row is not None
    processing = row["processing_s"] or [None, None]
    end_to_end = row["end_to_end_s"] or [None, None]
    return ProcessingTimes(
        completed=row["completed"],
        processing_p50_s=processing[0],
        processing_p95_s=processing[1],
        end_to_end_p50_s=end_to_end[0],
        end_to_end_p95_s=end_to_end[1],
        processing_avg_s=row["processing_avg_s"],
    )


async def throughput_per_minute(db: Executor, minutes: int) -> list[MinuteCount]:
    """Completed and failed images per minute, oldest first, the current minute last.

    Every minute of the window is present, with zeros where nothing finished, so a chart
    needs no gap filling.
    """
    # Counted in one range read of the index, then joined to the minutes: joining the
    # minutes to the table made the planner expect millions of rows and JIT-compile the
    # query, 140 ms of a 1 ms query at a million images.
    rows = await db.fetch(
        """
        WITH finished AS (
            SELECT date_trunc('minute', processed_at) AS minute,
                   count(*) FILTER (WHERE status = 'completed') AS completed,
                   count(*) FILTER (WHERE status = 'failed') AS failed
            FROM images
            WHERE processed_at >= date_trunc('minute', now()) - ($1::int - 1) * interval '1 minute'
            GROUP BY 1
        )
        SELECT m.minute, coalesce(f.completed, 0) AS completed, coalesce(f.failed, 0) AS failed
        FROM generate_series(
                 date_trunc('minute', now()) - ($1::int - 1) * interval '1 minute',
                 date_trunc('minute', now()),
                 interval '1 minute'
             ) AS m(minute)
        LEFT JOIN finished AS f USING (minute)
        ORDER BY m.minute
        """,
        minutes,
    )
    return [MinuteCount(row["minute"], row["completed"], row["failed"]) for row in rows]
