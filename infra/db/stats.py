"""Monitoring queries of the original design, as functions: counts by status and timings.

Shared by ``imagequeue stats`` and, later, a GraphQL ``stats`` field, so both report the
same numbers from the same SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

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
               ) AS end_to_end_s
        FROM images
        WHERE status = 'completed' AND processed_at IS NOT NULL AND started_at IS NOT NULL
        """
    )
    assert row is not None
    processing = row["processing_s"] or [None, None]
    end_to_end = row["end_to_end_s"] or [None, None]
    return ProcessingTimes(row["completed"], *processing, *end_to_end)
