"""The services an admin command (``stats``, ``dlq``, ``migrate``, ``up``) talks to itself,
and one line when one of them cannot be reached or refuses us: an operator reaches for
these commands when something is already wrong, so a traceback there hides the answer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aio_pika
import asyncpg
from aio_pika.abc import AbstractConnection

from cli.remote import describe
from infra.db.availability import DATABASE_REFUSES_USER, DATABASE_UNAVAILABLE
from infra.db.migrate import DatabaseNotCreated
from infra.settings import Settings


class Unreachable(Exception):
    """A service the command needs cannot be reached; the message names it, never its URL
    (which may hold a password)."""


def unreachable(service: str, exc: BaseException) -> Unreachable:
    return Unreachable(f"cannot reach {service}: {describe(exc)}")


DATABASE_REFUSED: tuple[type[Exception], ...] = (*DATABASE_REFUSES_USER, DatabaseNotCreated)
"""Errors of a database that answers but says no: no retry helps, a setting must change."""


def database_refused(exc: Exception) -> str:
    """What went wrong and what to change, in one line. PostgreSQL's own words name the
    role or the database at most, never the password."""
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        return f"cannot log in to the database: {exc} (set DATABASE_URL to a user that can log in)"
    if isinstance(exc, DatabaseNotCreated):
        return f"{exc} (create it, or set DATABASE_URL to a user that may create databases)"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return f"cannot use the database: {exc} (imagequeue migrate creates it)"
    return f"the database refused: {exc} (grant that right, or set DATABASE_URL to a user with it)"


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    try:
        connection = await asyncpg.connect(
            settings.database_url.get_secret_value(), timeout=settings.db_timeout_s
        )
    except DATABASE_UNAVAILABLE as exc:
        raise unreachable("the database", exc) from exc
    try:
        yield connection
    finally:
        await connection.close()


async def broker(settings: Settings, *, client_name: str) -> AbstractConnection:
    # Not robust: a command that runs once has nothing to reconnect for. aiormq logs a
    # failed connect as an error line of its own; the one line below says it all.
    logging.getLogger("aiormq.connection").setLevel(logging.CRITICAL)
    try:
        return await aio_pika.connect(
            settings.amqp_url.get_secret_value(),
            timeout=settings.amqp_connect_timeout_s,
            client_properties={"connection_name": client_name},
        )
    except Exception as exc:
        # aio-pika raises its own connection errors, OSErrors and timeouts alike.
        raise unreachable("RabbitMQ", exc) from exc
