"""Publishing progress events; the server (PENDING) and the worker (the rest) both use it."""

from __future__ import annotations

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange

from infra.broker.messages import ImageEvent
from infra.broker.topology import declare_events_exchange, event_routing_key


class EventPublisher:
    def __init__(self, exchange: AbstractExchange) -> None:
        self._exchange = exchange

    @classmethod
    async def declare(cls, channel: AbstractChannel) -> EventPublisher:
        return cls(await declare_events_exchange(channel))

    async def publish(self, event: ImageEvent) -> None:
        # Transient: events only ever sit in the listeners' exclusive, non-durable queues,
        # and the database, not the event, is the record of an image's state.
        message = aio_pika.Message(event.encode(), content_type="application/json")
        await self._exchange.publish(message, routing_key=event_routing_key(event.status))
