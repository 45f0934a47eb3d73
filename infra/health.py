"""Readiness checks shared by the server's ``/healthz``/``/readyz`` and the worker's ``/readyz``.

Each check returns ``"ok"`` or ``"down: <why>"``; a report is healthy when every check is ok.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg
from aio_pika.abc import AbstractChannel, AbstractConnection

from infra.storage import Storage

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 2.0
"""Shorter than any orchestrator's probe timeout, so a hung dependency reads as down."""

OK = "ok"


async def check_database(pool: asyncpg.Pool) -> str:
    try:
        await asyncio.wait_for(pool.fetchval("SELECT 1"), CHECK_TIMEOUT_S)
    except Exception as exc:
        return f"down: {type(exc).__name__}: {exc}"
    return OK


def check_broker(connection: AbstractConnection, channel: AbstractChannel | None = None) -> str:
    # A robust connection is "closed" only once close() is called: while it reconnects,
    # is_closed stays False and only its ``connected`` event says the broker is away.
    if connection.is_closed:
        return "down: connection closed"
    if not connection.connected.is_set():
        return "down: not connected (reconnecting)"
    if channel is not None and channel.is_closed:
        return "down: channel closed"
    return OK


async def check_storage(storage: Storage) -> str:
    try:
        await asyncio.wait_for(asyncio.to_thread(storage.check_writable), CHECK_TIMEOUT_S)
    except Exception as exc:
        # The answer names the failure without the absolute path; the log keeps the path.
        log.warning("storage check failed", exc_info=exc)
        return f"down: {type(exc).__name__}: {exc}"
    return OK


def report(checks: dict[str, str]) -> tuple[int, dict[str, str]]:
    """(HTTP status, JSON body): 200 when every check is ok, else 503 naming the failures."""
    healthy = all(state == OK for state in checks.values())
    return (200 if healthy else 503), {"status": "ok" if healthy else "unavailable", **checks}
