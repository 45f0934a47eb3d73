"""The ``job_outbox`` table: jobs written with their row, published later by the relay.

An entry's ``job`` is NULL when it is the image's own job, ``job_for(image_id,
original_path)``: the relay makes it from the row. That lets an upload write its row and
its entry in one statement.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from infra.broker.messages import ImageJob
from infra.db import images
from infra.db.images import Executor, ImageRecord
from infra.renditions import job_for


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    id: int
    image_id: int
    job: bytes


async def insert_pending_image(
    db: Executor,
    *,
    filename: str,
    original_path: str,
    file_size: int,
    content_type: str,
    requested_renditions: str | None = None,
) -> ImageRecord:
    """A pending row and its job, in one statement, so together or not at all.

    ``requested_renditions`` is the upload's rendition specs as JSON, if it has its own.
    One statement instead of a transaction of two saves the BEGIN and COMMIT round trips
    on every upload's critical path.
    """
    row = await db.fetchrow(
        f"""
        WITH image AS (
            INSERT INTO images
                (filename, original_path, file_size, content_type, status,
                 requested_renditions)
            VALUES ($1, $2, $3, $4, 'pending', $5::jsonb)
            RETURNING {images.COLUMNS}
        ), queued AS (
            INSERT INTO job_outbox (image_id) SELECT id FROM image
        )
        SELECT * FROM image
        """,
        filename,
        original_path,
        file_size,
        content_type,
        requested_renditions,
    )
    assert row is not None
    return ImageRecord.from_row(row)


async def enqueue(db: Executor, image_id: int, job: ImageJob | None = None) -> None:
    """Queue ``job`` for ``image_id``; without one, the image's own (NULL, made by the relay)."""
    await db.execute(
        "INSERT INTO job_outbox (image_id, job) VALUES ($1, $2)",
        image_id,
        None if job is None else job.encode(),
    )


async def claim_batch(connection: Executor, *, limit: int) -> list[OutboxEntry]:
    """Lock up to ``limit`` entries, oldest first, that no other relay holds.

    Call inside a transaction; the locks last until it ends, so two server instances
    never publish the same entry at the same time.
    """
    rows = await connection.fetch(
        """
        SELECT entry.id, entry.image_id, entry.job, image.original_path
        FROM job_outbox AS entry JOIN images AS image ON image.id = entry.image_id
        ORDER BY entry.id
        LIMIT $1
        FOR UPDATE OF entry SKIP LOCKED
        """,
        limit,
    )
    return [
        OutboxEntry(
            row["id"],
            row["image_id"],
            bytes(row["job"])
            if row["job"] is not None
            else job_for(row["image_id"], row["original_path"]).encode(),
        )
        for row in rows
    ]


async def delete(connection: Executor, entry_ids: list[int]) -> None:
    await connection.execute("DELETE FROM job_outbox WHERE id = ANY($1::bigint[])", entry_ids)


async def requeue_failed(
    connection: asyncpg.Connection | PoolConnectionProxy,
    image_id: int,
    job: ImageJob | None = None,
) -> ImageRecord | None:
    """A FAILED image back to pending with its job in the outbox, in one transaction.

    ``job`` defaults to the image's own; a dead letter's body may be passed to replay it as
    it was. None (and nothing written) unless the image was FAILED.
    """
    async with connection.transaction():
        record = await images.requeue_failed(connection, image_id)
        if record is not None:
            await enqueue(connection, record.id, job)
    return record


async def backlog(db: Executor) -> tuple[int, float]:
    """(entries waiting, age in seconds of the oldest; 0 when none)."""
    row = await db.fetchrow(
        """
        SELECT count(*) AS entries,
               coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_s
        FROM job_outbox
        """
    )
    assert row is not None
    return int(row["entries"]), float(row["oldest_s"])
