"""The asyncpg pool both processes use."""

from __future__ import annotations

import asyncio

import asyncpg

from infra.settings import Settings


async def create_pool(settings: Settings) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        settings.database_url.get_secret_value(),
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        timeout=settings.db_timeout_s,
        command_timeout=settings.db_timeout_s,
        reset=_keep_session,
    )
    assert pool is not None
    return pool


CLOSE_TIMEOUT_S = 5.0


async def close_pool(pool: asyncpg.Pool) -> None:
    """Close at shutdown, or terminate after ``CLOSE_TIMEOUT_S``: a pool whose connections
    are stuck on an unreachable database would otherwise hold the exit until its TCP
    timeouts."""
    try:
        await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT_S)
    except Exception:
        pool.terminate()


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Nothing to undo when a connection goes back to the pool.

    asyncpg's default reset sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`` on every release: one more round trip per query or transaction, on the
    upload's and the event's critical path. Our pooled connections never take advisory
    locks, open cursors, LISTEN or SET (migrations use a connection of their own), and
    asyncpg still rolls back a transaction left open before calling this.
    """
