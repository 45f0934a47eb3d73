"""Where events are consumed on the server: one exclusive queue per instance, reconnecting.

A broker-named, exclusive queue cannot be re-declared by name after the broker restarts,
so instead of aio-pika's robust restore this loop opens a fresh connection and queue
each time, and asks every subscriber to re-read the database for what it may have missed.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from infra.broker.messages import DecodeError, ImageEvent
from infra.broker.topology import declare_event_listener_queue
from server.background import BackgroundLoop, RetryLog
from server.events.hub import EventHub

log = logging.getLogger(__name__)

_RETRY_MIN_S = 0.5
_RETRY_MAX_S = 5.0
# Events published just before the connection was seen to drop may be lost as well.
_RESYNC_MARGIN = timedelta(seconds=5)


class EventListener(BackgroundLoop):
    name = "event-listener"

    def __init__(self, amqp_url: str, hub: EventHub, *, connect_timeout_s: float) -> None:
        self._amqp_url = amqp_url
        self._connect_timeout_s = connect_timeout_s
        self._hub = hub
        self._lost_at: datetime | None = None
        self._connected = False
        self._retries = RetryLog(
            log,
            failed="event listener disconnected (%s); retrying",
            still_failing="event listener still disconnected (%s)",
        )

    async def run(self) -> None:
        delay_s = _RETRY_MIN_S
        while True:
            try:
                await self._listen_once()
                delay_s = _RETRY_MIN_S
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._retries.failure(exc)
            if self._connected:
                self._lost_at = datetime.now(UTC)
            self._connected = False
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, _RETRY_MAX_S)

    async def _listen_once(self) -> None:
        connection = await aio_pika.connect(
            self._amqp_url,
            timeout=self._connect_timeout_s,
            client_properties={"connection_name": "imagequeue-server-events"},
        )
        closed = asyncio.Event()
        connection.close_callbacks.add(lambda *_: closed.set())
        try:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=256)
            queue = await declare_event_listener_queue(channel)
            await queue.consume(self._on_message, no_ack=True)
            log.info("listening for image events on %s", queue.name)
            self._connected = True
            # "listening for image events" above says it is back.
            self._retries.success()
            if self._lost_at is not None:
                # Events published while we were away are gone with the old queue.
                self._hub.resync_all(self._lost_at - _RESYNC_MARGIN)
                self._lost_at = None
            await closed.wait()
        finally:
            if not connection.is_closed:
                await connection.close()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            event = ImageEvent.decode(message.body)
        except DecodeError as exc:
            log.warning("dropping undecodable event: %s", exc)
            return
        self._hub.publish(event)
