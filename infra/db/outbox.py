"""The ``job_outbox`` table: jobs written with their row, published later by the relay."""

from __future__ import annotations

from dataclasses import dataclass

from infra.broker.messages import ImageJob
from infra.db.images import Executor


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


async def record_failure(connection: Executor, entry_id: int, error: str) -> None:
    await connection.execute(
        "UPDATE job_outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1",
        entry_id,
        error,
    )


async def pending_count(db: Executor) -> int:
    count: int = await db.fetchval("SELECT count(*) FROM job_outbox")
    return count
