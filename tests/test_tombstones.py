"""Deleted images leave a tombstone for a week, for listeners that missed the event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from infra.db import images, outbox


async def _new_image(connection: asyncpg.Connection) -> int:
    record, _ = await outbox.insert_pending_image(
        connection,
        filename="a.jpg",
        original_path="originals/a.jpg",
        file_size=1,
        content_type="image/jpeg",
    )
    return record.id


async def test_a_delete_is_readable_from_its_tombstone(connection: asyncpg.Connection) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    kept, deleted = await _new_image(connection), await _new_image(connection)

    assert await images.delete(connection, deleted) is not None

    [(image_id, deleted_at)] = await images.deleted_since(connection, before, limit=10)
    assert image_id == deleted and before < deleted_at < datetime.now(UTC)
    later = datetime.now(UTC) + timedelta(seconds=5)
    assert await images.deleted_since(connection, later, limit=10) == []
    assert await images.get(connection, kept) is not None


async def test_a_delete_prunes_tombstones_older_than_the_retention(
    connection: asyncpg.Connection,
) -> None:
    long_ago = datetime.now(UTC) - images.TOMBSTONE_RETENTION - timedelta(hours=1)
    await connection.execute(
        "INSERT INTO deleted_images (image_id, deleted_at) VALUES (999, $1)", long_ago
    )

    await images.delete(connection, await _new_image(connection))

    remaining = await connection.fetchval("SELECT array_agg(image_id) FROM deleted_images")
    assert 999 not in remaining and len(remaining) == 1
