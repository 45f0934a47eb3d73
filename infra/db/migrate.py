"""Versioned SQL migrations, applied in order under an advisory lock.

Files are ``migrations/NNNN_name.sql``; the applied versions are recorded in
``schema_migrations``. Two processes starting together serialise on the lock, and the
second finds nothing left to do.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

from infra.db.availability import DATABASE_REFUSES_USER

log = logging.getLogger(__name__)

# Any constant works; it only has to be the same for every imagequeue process.
_MIGRATION_LOCK_ID = 0x1A6E_0001
_FILE_PATTERN = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    found = []
    for entry in resources.files("infra.db").joinpath("migrations").iterdir():
        match = _FILE_PATTERN.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration versions: {versions}")
    return found


class DatabaseNotCreated(Exception):
    """The database is missing and could not be created; the message names it and gives
    PostgreSQL's reason (never the DSN, which may hold a password)."""


async def ensure_database(dsn: str) -> bool:
    """Create the database named in ``dsn`` when it is missing; True when it was created."""
    try:
        connection = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        pass
    else:
        await connection.close()
        return False
    name = dsn.rsplit("/", 1)[-1].split("?", 1)[0]
    try:
        return await _create_database(dsn, name)
    except DATABASE_REFUSES_USER as exc:
        # A user that may not create it cannot log in to the maintenance database, may not
        # connect to it, or lacks CREATEDB. Said here, where it is known: PostgreSQL's own
        # message is about the "postgres" database or CREATEDB, not the one asked for.
        raise DatabaseNotCreated(
            f'database "{name}" does not exist, and creating it failed: {exc}'
        ) from exc


async def _create_database(dsn: str, name: str) -> bool:
    admin = await asyncpg.connect(dsn, database="postgres")
    try:
        quoted = '"' + name.replace('"', '""') + '"'
        try:
            await admin.execute(f"CREATE DATABASE {quoted}")
        except asyncpg.DuplicateDatabaseError:
            return False  # created by a process that started at the same moment
        log.info("created database %s", name)
        return True
    finally:
        await admin.close()


async def apply_migrations(connection: asyncpg.Connection) -> list[int]:
    """Apply every pending migration; return the versions applied now."""
    applied_now: list[int] = []
    await connection.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK_ID)
    try:
        await connection.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    INTEGER PRIMARY KEY,
                name       TEXT NOT NULL,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """
        )
        done = {
            row["version"]
            for row in await connection.fetch("SELECT version FROM schema_migrations")
        }
        for migration in load_migrations():
            if migration.version in done:
                continue
            async with connection.transaction():
                await connection.execute(migration.sql)
                await connection.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
            log.info("applied migration %04d_%s", migration.version, migration.name)
            applied_now.append(migration.version)
    finally:
        await connection.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK_ID)
    return applied_now


async def migrate(dsn: str) -> list[int]:
    """Create the database if needed, then apply pending migrations."""
    await ensure_database(dsn)
    connection = await asyncpg.connect(dsn)
    try:
        return await apply_migrations(connection)
    finally:
        await connection.close()
