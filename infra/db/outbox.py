"""The ``job_outbox`` table: jobs written with their row, published later by the relay.

An entry's ``job`` is NULL when it is the image's own job, ``job_for(image_id,
original_path)``: the relay makes it from the row. That lets an upload write its row and
its entry in one statement.

An upload's entry goes back to the server that wrote it, which publishes it from memory;
other relays leave it alone for ``UPLOADER_PUBLISHES_WITHIN_S`` (its ``publish_after``)
and publish it only if that server did not (it crashed, or its broker was away).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from infra.broker.messages import ImageJob
from infra.db import images
from infra.db.images import Executor, ImageRecord
from infra.renditions import job_for

UPLOADER_PUBLISHES_WITHIN_S = 2.0
"""How long an upload's entry is left to its own server, which publishes it in milliseconds;
past this, any relay's poll publishes it."""


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
) -> tuple[ImageRecord, OutboxEntry]:
    """A pending row and its job, in one statement, so together or not at all.

    Returns the row and its outbox entry, which is the caller's to publish (other relays
    wait ``UPLOADER_PUBLISHES_WITHIN_S`` for it). ``requested_renditions`` is the upload's
    rendition specs as JSON, if it has its own. One statement instead of a transaction of
    two saves the BEGIN and COMMIT round trips on every upload's critical path.
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
            INSERT INTO job_outbox (image_id, publish_after)
            SELECT id, now() + make_interval(secs => $6) FROM image
            RETURNING id
        )
        SELECT image.*, queued.id AS outbox_entry_id FROM image, queued
        """,
        filename,
        original_path,
        file_size,
        content_type,
        requested_renditions,
        UPLOADER_PUBLISHES_WITHIN_S,
    )
    assert row is not None
    values = dict(row)
    entry_id = values.pop("outbox_entry_id")
    record = ImageRecord.from_row(values)
    return record, OutboxEntry(entry_id, record.id, job_for(record.id, original_path).encode())


async def enqueue(db: Executor, image_id: int, job: ImageJob | None = None) -> None:
    """Queue ``job`` for ``image_id``; without one, the image's own (NULL, made by the relay)."""
    await db.execute(
        "INSERT INTO job_outbox (image_id, job) VALUES ($1, $2)",
        image_id,
        None if job is None else job.encode(),
    )


async def claim_batch(connection: Executor, *, limit: int) -> list[OutboxEntry]:
    """Lock up to ``limit`` due entries, oldest first, that no other relay holds.

    Call inside a transaction; the locks last until it ends, so two server instances
    never publish the same entry at the same time.
    """
    rows = await connection.fetch(
        """
        SELECT entry.id, entry.image_id, entry.job, image.original_path
        FROM job_outbox AS entry JOIN images AS image ON image.id = entry.image_id
        WHERE entry.publish_after <= now()
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
