"""The asyncpg pool both processes use."""

from __future__ import annotations

import asyncpg

from infra.settings import Settings


async def create_pool(settings: Settings) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        settings.database_url.get_secret_value(),
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        timeout=settings.db_timeout_s,
        command_timeout=settings.db_timeout_s,
    )
    assert pool is not None
    return pool
