"""Errors that mean the database cannot be reached right now, not that a query is wrong."""

from __future__ import annotations

import asyncpg

DATABASE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset or timed out (TimeoutError is an OSError)
    asyncpg.PostgresConnectionError,  # class 08: the connection failed or is gone
    asyncpg.InterfaceError,  # the connection was closed under the query
    asyncpg.exceptions.OperatorInterventionError,  # class 57: shutting down, starting up
    asyncpg.exceptions.TooManyConnectionsError,  # 53300: full for now
)
