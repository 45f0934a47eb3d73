"""Opening the broker connection: robust, so it reconnects by itself after a broker restart."""

from __future__ import annotations

import asyncio
import logging

import aio_pika
from aio_pika.abc import AbstractRobustConnection

from infra.settings import Settings

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 5.0
"""How long closing the connection may take at shutdown: a robust connection that lost its
broker waits for it to come back before it can close, however long that takes."""


async def connect(settings: Settings, *, client_name: str) -> AbstractRobustConnection:
    connection = await aio_pika.connect_robust(
        settings.amqp_url.get_secret_value(),
        # Without a timeout, a handshake with a broker that is still booting can hang
        # the reconnect loop for good.
        timeout=settings.amqp_connect_timeout_s,
        client_properties={"connection_name": client_name},
        reconnect_interval=settings.amqp_reconnect_interval_s,
    )
    _OutageLog(connection, client_name, settings.amqp_reconnect_interval_s)
    return connection


class _OutageLog:
    """One warning when the connection is lost and one line when it is back.

    aio-pika and aiormq log every failed reconnect attempt (infra/logs.py quiets them), so
    an outage would otherwise be two lines a second per process.
    """

    def __init__(self, connection: AbstractRobustConnection, name: str, interval_s: float) -> None:
        self._name = name
        self._interval_s = interval_s
        self._lost = False
        connection.close_callbacks.add(self._on_close)
        connection.reconnect_callbacks.add(self._on_reconnect)

    def _on_close(self, _connection: object, exc: BaseException | None) -> None:
        # Our own close() passes CancelledError (or nothing): not an outage.
        if self._lost or exc is None or isinstance(exc, asyncio.CancelledError):
            return
        self._lost = True
        log.warning(
            "broker connection lost (%s: %s); reconnecting every %.1f s",
            type(exc).__name__,
            exc,
            self._interval_s,
            extra={"connection_name": self._name},
        )

    def _on_reconnect(self, _connection: object) -> None:
        if self._lost:
            log.info("broker connection restored", extra={"connection_name": self._name})
        self._lost = False


async def close_connection(connection: AbstractRobustConnection) -> None:
    """Close at shutdown, or give up after ``CLOSE_TIMEOUT_S``: unacked messages go back to
    their queue when the broker sees the connection end, which a broker that is away has
    already seen."""
    try:
        await asyncio.wait_for(connection.close(), CLOSE_TIMEOUT_S)
    except Exception as exc:
        why = "no answer from the broker" if isinstance(exc, TimeoutError) else type(exc).__name__
        log.warning("broker connection not closed cleanly (%s)", why)
