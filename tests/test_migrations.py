"""Migrations: ordered, idempotent, and safe when two processes start together."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest

from infra.db.migrate import apply_migrations, ensure_database, load_migrations, migrate
from tests.services import PG_PORT, drop_database, require_postgres, unique_name


@pytest.fixture
def empty_database_url() -> Iterator[str]:
    require_postgres()
    url = f"postgresql://postgres@127.0.0.1:{PG_PORT}/{unique_name('imagequeue_migrate')}"
    yield url
    drop_database(url)


def test_migration_files_are_numbered_in_order() -> None:
    versions = [migration.version for migration in load_migrations()]
    assert versions == sorted(versions) and versions[0] == 1


async def test_migrate_creates_the_database_and_is_idempotent(empty_database_url: str) -> None:
    applied = await migrate(empty_database_url)
    assert applied == [migration.version for migration in load_migrations()]
    assert await migrate(empty_database_url) == []
    assert await ensure_database(empty_database_url) is False

    connection = await asyncpg.connect(empty_database_url)
    try:
        columns = {
            row["column_name"]
            for row in await connection.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'images'"
            )
        }
    finally:
        await connection.close()
    original_design = {
        "id", "filename", "original_path", "thumbnail_path", "file_size",
        "thumbnail_size", "status", "created_at", "processed_at",
    }  # fmt: skip
    assert original_design <= columns


async def test_concurrent_migrations_apply_each_file_once(empty_database_url: str) -> None:
    await ensure_database(empty_database_url)
    connections = [await asyncpg.connect(empty_database_url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(apply_migrations(c) for c in connections))
        assert sorted(v for applied in results for v in applied) == [
            m.version for m in load_migrations()
        ]
    finally:
        for connection in connections:
            await connection.close()
