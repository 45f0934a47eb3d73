"""The ``file_deletions`` table: files of deleted images, until storage has let them go.

An entry is written by the statement that deletes the image's row (``images.delete``), so
a row never disappears without a record of its files. Every server instance's file
deleter takes due entries with ``FOR UPDATE SKIP LOCKED`` and leases them by moving
``not_before`` on in the same statement, so instances never work on one entry at once
and no transaction stays open while storage is being slow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import asyncpg

from infra.db.images import Executor, ImageRecord, StoredPaths


@dataclass(frozen=True, slots=True)
class FileDeletion(StoredPaths):
    """What a deleted image's row said about its files."""

    image_id: int
    original_path: str
    thumbnail_path: str | None
    rendition_keys: tuple[str, ...]
    attempts: int = 0

    @classmethod
    def of_image(cls, record: ImageRecord) -> FileDeletion:
        return cls(
            record.id,
            record.original_path,
            record.thumbnail_path,
            tuple(rendition["key"] for rendition in record.renditions if "key" in rendition),
        )

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> FileDeletion:
        renditions = json.loads(row["renditions"])
        return cls(
            row["image_id"],
            row["original_path"],
            row["thumbnail_path"],
            tuple(rendition["key"] for rendition in renditions if "key" in rendition),
            row["attempts"],
        )


async def claim_due(
    db: Executor, *, lease_s: float, max_backoff_s: float, limit: int
) -> list[FileDeletion]:
    """Up to ``limit`` due entries, each leased to the caller: not due again for
    ``lease_s`` doubled per earlier attempt (at most ``max_backoff_s``), unless
    ``done`` removes it first. Counts the attempt."""
    rows = await db.fetch(
        """
        UPDATE file_deletions
        SET attempts = attempts + 1,
            not_before = now() + make_interval(
                secs => least($1 * power(2, least(attempts, 30)), $2))
        WHERE image_id IN (
            SELECT image_id FROM file_deletions
            WHERE not_before <= now()
            ORDER BY not_before LIMIT $3
            FOR UPDATE SKIP LOCKED
        )
        RETURNING image_id, original_path, thumbnail_path, renditions, attempts
        """,
        lease_s,
        max_backoff_s,
        limit,
    )
    return [FileDeletion.from_row(row) for row in rows]


async def done(db: Executor, image_id: int) -> None:
    """Every file of the image is gone: forget the entry."""
    await db.execute("DELETE FROM file_deletions WHERE image_id = $1", image_id)


async def failed(db: Executor, image_id: int, *, error: str) -> None:
    """Keep why the last attempt failed, for a person reading the table."""
    await db.execute("UPDATE file_deletions SET error = $2 WHERE image_id = $1", image_id, error)


async def pending(db: Executor) -> int:
    return int(await db.fetchval("SELECT count(*) FROM file_deletions"))
