"""Errors that mean the database cannot be reached right now, or will not have this user,
not that a query is wrong."""

from __future__ import annotations

import asyncpg

DATABASE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset or timed out (TimeoutError is an OSError)
    asyncpg.PostgresConnectionError,  # class 08: the connection failed or is gone
    asyncpg.InterfaceError,  # the connection was closed under the query
    asyncpg.exceptions.OperatorInterventionError,  # class 57: shutting down, starting up
    asyncpg.exceptions.TooManyConnectionsError,  # 53300: full for now
)

DATABASE_REFUSES_USER: tuple[type[Exception], ...] = (
    asyncpg.InvalidAuthorizationSpecificationError,  # class 28: unknown role, wrong password
    asyncpg.InsufficientPrivilegeError,  # 42501: no right to connect, create or read
    asyncpg.InvalidCatalogNameError,  # 3D000: the database does not exist
)
"""A database that answers but says no to this user: no retry helps, a setting must change."""
