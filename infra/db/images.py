"""The ``images`` table: every query the server and the worker run against it.

Except an upload's insert, which writes the row's outbox entry in the same statement:
``outbox.insert_pending_image``.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from infra.storage import key_of_path

Executor = asyncpg.Pool | asyncpg.Connection | PoolConnectionProxy


class ImageStatus(enum.StrEnum):
    """Stored lowercase, as the original design's clients expect."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class StoredPaths:
    """The storage keys a row's ``original_path`` and ``thumbnail_path`` name (a legacy
    row's may start with ``/``): for an image's row and what a deleted one left."""

    __slots__ = ()
    original_path: str
    thumbnail_path: str | None

    @property
    def original_key(self) -> str:
        return key_of_path(self.original_path)

    @property
    def thumbnail_key(self) -> str | None:
        """None until there is a thumbnail."""
        return None if self.thumbnail_path is None else key_of_path(self.thumbnail_path)


@dataclass(frozen=True, slots=True)
class ImageRecord(StoredPaths):
    id: int
    filename: str
    original_path: str
    thumbnail_path: str | None
    file_size: int | None
    thumbnail_size: int | None
    status: ImageStatus
    created_at: datetime
    processed_at: datetime | None
    content_type: str | None
    error: str | None
    attempts: int
    started_at: datetime | None
    width: int | None
    height: int | None
    format: str | None
    metadata: dict[str, Any] | None
    placeholder: str | None
    dominant_color: str | None
    renditions: list[dict[str, Any]]
    """What the worker wrote: ``{name, key, width, height, format, size}`` each."""
    requested_renditions: list[dict[str, Any]] | None
    """The upload's own rendition specs; None means the worker's presets."""

    def path_for(self, key: str) -> str:
        """How this row writes a key of its own: as ``/key`` when its original's path is the
        original design's, from the volume's root, so its readers find one form per row."""
        return f"/{key}" if self.original_path.startswith("/") else key

    @classmethod
    def from_row(cls, row: asyncpg.Record | Mapping[str, Any]) -> ImageRecord:
        values: dict[str, Any] = dict(row)
        values["status"] = ImageStatus(values["status"])
        # asyncpg returns JSONB as text unless a codec is set on every connection.
        for column in _JSON_COLUMNS:
            if values[column] is not None:
                values[column] = json.loads(values[column])
        return cls(**values)


MAX_PATH_CHARS = 500
"""``original_path`` and ``thumbnail_path`` are ``VARCHAR(500)``."""

_JSON_COLUMNS = ("metadata", "renditions", "requested_renditions")
COLUMNS = (  # what ImageRecord.from_row reads
    "id, filename, original_path, thumbnail_path, file_size, thumbnail_size, status, "
    "created_at, processed_at, content_type, error, attempts, started_at, "
    "width, height, format, metadata, placeholder, dominant_color, renditions, "
    "requested_renditions"
)


@dataclass(frozen=True, slots=True)
class Processed:
    """What a completed job records; the ``thumb`` rendition also fills the legacy columns."""

    thumbnail_path: str
    thumbnail_size: int
    width: int
    height: int
    format: str
    metadata: dict[str, Any]
    placeholder: str | None
    dominant_color: str | None
    renditions: list[dict[str, Any]]


def parse_image_id(raw: str) -> int | None:
    """IDs are positive integers (the original design's SERIAL); anything else matches nothing."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        return None
    image_id = int(raw)
    return image_id if 0 < image_id <= 2**31 - 1 else None


async def get(db: Executor, image_id: int) -> ImageRecord | None:
    row = await db.fetchrow(f"SELECT {COLUMNS} FROM images WHERE id = $1", image_id)
    return ImageRecord.from_row(row) if row else None


async def get_many(db: Executor, image_ids: list[int]) -> dict[int, ImageRecord]:
    rows = await db.fetch(f"SELECT {COLUMNS} FROM images WHERE id = ANY($1::int[])", image_ids)
    return {row["id"]: ImageRecord.from_row(row) for row in rows}


async def other_image_with_key(db: Executor, key: str, *, image_id: int) -> int | None:
    """An image other than ``image_id`` whose file ``key`` is, or None.

    ``key`` is another image's when it is that image's original, its recorded thumbnail, or
    the thumbnail the server names after its original (``renditions.thumbnail_key_for``:
    ``thumbnails/`` + the original's last segment up to its first dot, or all of it when
    that is empty, + ``_thumb.jpg``).
    Paths are compared without leading ``/``, which the original design's rows may have.
    No index serves these expressions; only a legacy producer's own thumbnail names are
    looked up (``worker/job_paths.py``), so only those jobs pay for the scan.
    """
    holder: int | None = await db.fetchval(
        """
        SELECT id FROM images
        WHERE id <> $2 AND $1 IN (
            ltrim(original_path, '/'),
            ltrim(thumbnail_path, '/'),
            'thumbnails/'
                || coalesce(
                    nullif(split_part(regexp_replace(original_path, '^.*/', ''), '.', 1), ''),
                    regexp_replace(original_path, '^.*/', ''))
                || '_thumb.jpg'
        )
        LIMIT 1
        """,
        key,
        image_id,
    )
    return holder


async def list_newest_first(
    db: Executor, *, limit: int, before_id: int | None, status: ImageStatus | None
) -> list[ImageRecord]:
    """Up to ``limit`` images with ``id < before_id``, newest first (keyset pagination)."""
    rows = await db.fetch(
        f"""
        SELECT {COLUMNS} FROM images
        WHERE ($1::int IS NULL OR id < $1) AND ($2::text IS NULL OR status = $2)
        ORDER BY id DESC
        LIMIT $3
        """,
        before_id,
        status.value if status else None,
        limit,
    )
    return [ImageRecord.from_row(row) for row in rows]


async def changed_since(db: Executor, since: datetime, *, limit: int) -> list[ImageRecord]:
    """Images created, started or finished at or after ``since``, oldest change first."""
    rows = await db.fetch(
        f"""
        SELECT {COLUMNS} FROM images
        WHERE greatest(created_at, started_at, processed_at) >= $1
        ORDER BY greatest(created_at, started_at, processed_at)
        LIMIT $2
        """,
        since,
        limit,
    )
    return [ImageRecord.from_row(row) for row in rows]


async def claim_for_processing(
    db: Executor,
    image_id: int,
    *,
    take_over: bool,
    stale_after_s: float,
    original_key: str | None = None,
    held_with_attempts: int | None = None,
) -> ImageRecord | None:
    """Move a pending image to processing and count the attempt.

    ``stale_after_s`` is how long this claim holds: the claiming worker's job time limit
    plus grace. The row keeps its end (``processing_deadline_at``), which the stuck sweeper
    honours, since only the worker knows its time limit.
    An image already in processing is taken over only when ``take_over`` (the broker
    redelivered the job: its last holder is gone) or when its claim has run out (rows
    claimed before deadlines were kept: started more than ``stale_after_s`` ago); a second
    copy of a job in flight is not processed twice.
    With ``held_with_attempts``, ``take_over`` takes only a claim whose row still counts
    that many attempts: the one this job's previous delivery left, never one that another
    delivery has made since (each claim adds one), checked in the same statement.
    With ``original_key``, only an image whose ``original_path`` is that key (leading
    ``/`` aside) is claimed. Returns None when the image is gone, final, held elsewhere or
    not that original's.
    """
    row = await db.fetchrow(
        f"""
        UPDATE images
        SET status = 'processing', started_at = now(), attempts = attempts + 1,
            processing_deadline_at = now() + make_interval(secs => $3)
        WHERE id = $1 AND (
            status = 'pending'
            OR (status = 'processing'
                AND (($2 AND ($5::int IS NULL OR attempts = $5::int))
                     OR coalesce(processing_deadline_at,
                                 started_at + make_interval(secs => $3)) < now()))
        ) AND ($4::text IS NULL OR ltrim(original_path, '/') = $4::text)
        RETURNING {COLUMNS}
        """,
        image_id,
        take_over,
        stale_after_s,
        original_key,
        held_with_attempts,
    )
    return ImageRecord.from_row(row) if row else None


async def mark_retrying(db: Executor, image_id: int, *, error: str) -> bool:
    """Back to pending after a transient failure; ``error`` and ``attempts`` stay visible.

    False when the image was not processing (deleted, or finished by another delivery).
    """
    changed = await db.fetchval(
        """
        UPDATE images SET status = 'pending', error = $2
        WHERE id = $1 AND status = 'processing'
        RETURNING id
        """,
        image_id,
        error,
    )
    return changed is not None


async def release_unattempted(db: Executor, image_id: int, *, error: str) -> bool:
    """Back to pending with the claim's attempt taken back: the job could not run for a
    reason that is not the image's (its storage was away). ``error`` says why meanwhile.

    False when the image was not processing (deleted, or finished by another delivery).
    """
    changed = await db.fetchval(
        """
        UPDATE images SET status = 'pending', error = $2, attempts = greatest(attempts - 1, 0)
        WHERE id = $1 AND status = 'processing'
        RETURNING id
        """,
        image_id,
        error,
    )
    return changed is not None


async def requeue_failed(db: Executor, image_id: int) -> ImageRecord | None:
    """A FAILED image back to pending with a fresh attempt count; None unless it was FAILED."""
    row = await db.fetchrow(
        f"""
        UPDATE images
        SET status = 'pending', attempts = 0, error = NULL, started_at = NULL,
            processed_at = NULL, requeued_at = now()
        WHERE id = $1 AND status = 'failed'
        RETURNING {COLUMNS}
        """,
        image_id,
    )
    return ImageRecord.from_row(row) if row else None


async def release_stuck(db: Executor, *, stuck_after_s: float, limit: int) -> list[ImageRecord]:
    """Images whose worker vanished mid-job, back to pending.

    An image counts as stuck once it has been in processing for ``stuck_after_s`` and its
    claim's own deadline (the claiming worker's time limit plus grace) has passed too: a
    worker allowed a longer job than ``stuck_after_s`` is not robbed of a valid render.
    """
    rows = await db.fetch(
        f"""
        UPDATE images
        SET status = 'pending', error = 'worker lost; requeued', requeued_at = now()
        WHERE id IN (
            SELECT id FROM images
            WHERE status = 'processing'
                AND started_at < now() - make_interval(secs => $1)
                AND (processing_deadline_at IS NULL OR processing_deadline_at < now())
            ORDER BY id LIMIT $2
            FOR UPDATE SKIP LOCKED
        )
        RETURNING {COLUMNS}
        """,
        stuck_after_s,
        limit,
    )
    return [ImageRecord.from_row(row) for row in rows]


async def requeue_lost_pending(
    db: Executor, *, stuck_after_s: float, limit: int
) -> list[ImageRecord]:
    """Pending images whose job seems lost: marked as queued again, for the caller to enqueue.

    A pending image with no outbox entry has had its job published (or it came from a
    producer that publishes its own). It seems lost when nothing has happened to the image
    for ``stuck_after_s``: not uploaded, claimed, retried or queued again in that time. The
    caller asks only while no job waits in the queue (``server/stuck_sweeper.py``), since a
    job in a backlog is not lost; one only slow to come then gets a duplicate at most once
    per ``stuck_after_s``, which the worker's claim makes harmless.
    """
    rows = await db.fetch(
        f"""
        UPDATE images SET requeued_at = now()
        WHERE id IN (
            SELECT id FROM images
            WHERE status = 'pending'
                AND greatest(created_at, started_at, requeued_at)
                    < now() - make_interval(secs => $1)
                AND NOT EXISTS (SELECT 1 FROM job_outbox WHERE image_id = images.id)
            ORDER BY id LIMIT $2
            FOR UPDATE SKIP LOCKED
        )
        RETURNING {COLUMNS}
        """,
        stuck_after_s,
        limit,
    )
    return [ImageRecord.from_row(row) for row in rows]


async def mark_completed(db: Executor, image_id: int, processed: Processed) -> bool:
    """False when the image was not processing (deleted, or finished by another delivery)."""
    changed = await db.fetchval(
        """
        UPDATE images
        SET status = 'completed', thumbnail_path = $2, thumbnail_size = $3,
            width = $4, height = $5, format = $6, metadata = $7::jsonb, placeholder = $8,
            dominant_color = $9, renditions = $10::jsonb, processed_at = now(), error = NULL
        WHERE id = $1 AND status = 'processing'
        RETURNING id
        """,
        image_id,
        processed.thumbnail_path,
        processed.thumbnail_size,
        processed.width,
        processed.height,
        processed.format,
        json.dumps(processed.metadata, allow_nan=False),
        processed.placeholder,
        processed.dominant_color,
        json.dumps(processed.renditions),
    )
    return changed is not None


async def mark_failed(db: Executor, image_id: int, *, error: str) -> bool:
    """False when the image was already final or deleted."""
    changed = await db.fetchval(
        """
        UPDATE images
        SET status = 'failed', error = $2, processed_at = now()
        WHERE id = $1 AND status IN ('pending', 'processing')
        RETURNING id
        """,
        image_id,
        error,
    )
    return changed is not None


TOMBSTONE_RETENTION = timedelta(days=7)
"""How long a delete stays readable by ``deleted_since``: longer than any listener outage
worth catching up on."""


async def delete(
    db: Executor, image_id: int, *, files_retry_after_s: float = 60.0
) -> ImageRecord | None:
    """Remove the row, leave its tombstone and its ``file_deletions`` entry, in one
    statement; prune old tombstones.

    The entry is not due before ``files_retry_after_s``: the caller removes the files at
    once and the entry with them; the file deleter takes over only if that failed.
    """
    row = await db.fetchrow(
        f"""
        WITH gone AS (
            DELETE FROM images WHERE id = $1 RETURNING {COLUMNS}
        ), tombstone AS (
            INSERT INTO deleted_images (image_id) SELECT id FROM gone
            ON CONFLICT (image_id) DO NOTHING
        ), files AS (
            INSERT INTO file_deletions
                (image_id, original_path, thumbnail_path, renditions, not_before)
            SELECT id, original_path, thumbnail_path, renditions,
                   now() + make_interval(secs => $3)
            FROM gone
            ON CONFLICT (image_id) DO NOTHING
        ), pruned AS (
            DELETE FROM deleted_images WHERE deleted_at < now() - $2::interval
        )
        SELECT * FROM gone
        """,
        image_id,
        TOMBSTONE_RETENTION,
        files_retry_after_s,
    )
    return ImageRecord.from_row(row) if row else None


async def deleted_among(db: Executor, image_ids: Sequence[int]) -> dict[int, datetime]:
    """Which of ``image_ids`` were deleted (within the tombstones' retention), and when."""
    rows = await db.fetch(
        "SELECT image_id, deleted_at FROM deleted_images WHERE image_id = ANY($1::bigint[])",
        list(image_ids),
    )
    return {row["image_id"]: row["deleted_at"] for row in rows}


async def deleted_since(db: Executor, since: datetime, *, limit: int) -> list[tuple[int, datetime]]:
    """(id, when) of the images deleted at or after ``since``, oldest first."""
    rows = await db.fetch(
        """
        SELECT image_id, deleted_at FROM deleted_images WHERE deleted_at >= $1
        ORDER BY deleted_at LIMIT $2
        """,
        since,
        limit,
    )
    return [(row["image_id"], row["deleted_at"]) for row in rows]
