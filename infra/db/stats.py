"""Monitoring queries of the original design, as functions: counts by status and timings.

Shared by ``imagequeue stats`` and the GraphQL ``stats`` field (the web app's dashboard), so
both report the same numbers from the same SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from infra.db.images import Executor, ImageStatus


@dataclass(frozen=True, slots=True)
class ProcessingTimes:
    """Percentiles over completed images, in seconds; None when no image has completed."""

    completed: int
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


async def processing_times(db: Executor) -> ProcessingTimes:
    # EXTRACT gives numeric; percentile_cont interpolates over double precision.
    row = await db.fetchrow(
        """
        SELECT count(*) AS completed,
               percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (
                   ORDER BY EXTRACT(EPOCH FROM processed_at - started_at)::float8
               ) AS processing_s,
               percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (
                   ORDER BY EXTRACT(EPOCH FROM processed_at - created_at)::float8
               ) AS end_to_end_s,
               avg(EXTRACT(EPOCH FROM processed_at - started_at)::float8) AS processing_avg_s
        FROM images
        WHERE status = 'completed' AND processed_at IS NOT NULL AND started_at IS NOT NULL
        """
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
    rows = await db.fetch(
        """
        SELECT m.minute,
               count(i.id) FILTER (WHERE i.status = 'completed') AS completed,
               count(i.id) FILTER (WHERE i.status = 'failed') AS failed
        FROM generate_series(
                 date_trunc('minute', now()) - ($1::int - 1) * interval '1 minute',
                 date_trunc('minute', now()),
                 interval '1 minute'
             ) AS m(minute)
        LEFT JOIN images i
               ON i.processed_at >= m.minute AND i.processed_at < m.minute + interval '1 minute'
        GROUP BY m.minute
        ORDER BY m.minute
        """,
        minutes,
    )
    return [MinuteCount(row["minute"], row["completed"], row["failed"]) for row in rows]
