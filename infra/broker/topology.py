"""Every queue, exchange and routing key name imagequeue uses, and the code that declares them.

No other module spells a queue or exchange name; they import it from here.
"""

from __future__ import annotations

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

JOB_QUEUE = "image_processing"
"""The original design's queue name: producers written against it keep working."""

EVENTS_EXCHANGE = "image_events"
"""Durable topic exchange for progress events; routing key ``image.<status>``."""

ALL_EVENTS = "image.#"
"""Binding key that matches every event."""


def event_routing_key(status: str) -> str:
    return f"image.{status}"


async def declare_job_queue(channel: AbstractChannel) -> AbstractQueue:
    """Declare the durable job queue (idempotent; same arguments on every declare)."""
    return await channel.declare_queue(JOB_QUEUE, durable=True)


async def declare_events_exchange(channel: AbstractChannel) -> AbstractExchange:
    return await channel.declare_exchange(
        EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
    )


async def declare_event_listener_queue(channel: AbstractChannel) -> AbstractQueue:
    """One queue per server instance: exclusive, auto-delete, named by the broker.

    It dies with its connection, so a crashed instance leaves nothing behind; the
    instance declares a new one when it reconnects.
    """
    exchange = await declare_events_exchange(channel)
    queue = await channel.declare_queue("", exclusive=True, auto_delete=True)
    await queue.bind(exchange, ALL_EVENTS)
    return queue


async def job_queue_state(channel: AbstractChannel) -> tuple[int, int]:
    """(messages waiting, consumers attached) from a passive declare, which creates nothing."""
    queue = await channel.declare_queue(JOB_QUEUE, passive=True)
    result = queue.declaration_result
    return result.message_count or 0, result.consumer_count or 0


def persistent_json(body: bytes, *, message_id: str | None = None) -> aio_pika.Message:
    """A message that survives a broker restart once confirmed."""
    return aio_pika.Message(
        body,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message_id,
    )
