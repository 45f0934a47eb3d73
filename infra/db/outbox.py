"""The ``job_outbox`` table: jobs written with their row, published later by the relay."""

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


async def enqueue(db: Executor, job: ImageJob) -> None:
    await db.execute(
        "INSERT INTO job_outbox (image_id, job) VALUES ($1, $2)", job.image_id, job.encode()
    )


async def claim_batch(connection: Executor, *, limit: int) -> list[OutboxEntry]:
    """Lock up to ``limit`` entries, oldest first, that no other relay holds.

    Call inside a transaction; the locks last until it ends, so two server instances
    never publish the same entry at the same time.
    """
    rows = await connection.fetch(
        """
        SELECT id, image_id, job FROM job_outbox
        ORDER BY id
        LIMIT $1
        FOR UPDATE SKIP LOCKED
        """,
        limit,
    )
    return [OutboxEntry(row["id"], row["image_id"], bytes(row["job"])) for row in rows]


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
            await enqueue(connection, job or job_for(record.id, record.original_path))
    return record
