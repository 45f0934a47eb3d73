"""Every queue, exchange and routing key name imagequeue uses, and the code that declares them.

No other module spells a queue or exchange name; they import it from here.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange, AbstractQueue

JOB_QUEUE = "image_processing"
"""The original design's queue name: producers written against it keep working."""

DEAD_LETTER_QUEUE = f"{JOB_QUEUE}.dlq"
"""Jobs that exhausted their retries or cannot be decoded; inspected and replayed by a person."""


def retry_queue_name(attempt: int) -> str:
    """Where a job waits before attempt ``attempt + 1``: one queue per attempt number.

    Messages expire only at the head of a queue, so a short delay must never sit behind a
    long one; within one attempt number the delays differ only by their jitter.
    """
    return f"{JOB_QUEUE}.retry.{attempt}"


SET_ASIDE_QUEUE = f"{JOB_QUEUE}.set_aside"
"""Copies of a job put aside while another delivery holds its image, to look again once that
delivery must have finished. They all wait the same time (the longest a job can run), so
none of them sits in front of a retry's shorter delay."""


EVENTS_EXCHANGE = "image_events"
"""Durable topic exchange for progress events; routing key ``image.<status>``."""

ALL_EVENTS = "image.#"
"""Binding key that matches every event."""


def event_routing_key(status: str) -> str:
    return f"image.{status}"


async def declare_job_queue(channel: AbstractChannel) -> AbstractQueue:
    """Declare the durable job queue (idempotent; same arguments on every declare)."""
    return await channel.declare_queue(JOB_QUEUE, durable=True)


async def declare_dead_letter_queue(channel: AbstractChannel) -> AbstractQueue:
    return await channel.declare_queue(DEAD_LETTER_QUEUE, durable=True)


async def declare_delay_queue(channel: AbstractChannel, name: str) -> AbstractQueue:
    """A retry queue or the set-aside queue: its messages go back to the job queue when
    their expiration (set per message) comes."""
    # Expired messages dead-letter straight back onto the job queue. The job queue
    # itself keeps the original design's plain declaration (no arguments), so producers
    # written against it can still declare it; the worker moves poison jobs to the
    # dead-letter queue itself instead of relying on a dead-letter exchange.
    return await channel.declare_queue(
        name,
        durable=True,
        arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": JOB_QUEUE},
    )


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


QUEUE_STATE_TIMEOUT_S = 2.0


async def job_queue_state(
    connection: AbstractConnection,
    queue_name: str = JOB_QUEUE,
    *,
    timeout_s: float = QUEUE_STATE_TIMEOUT_S,
) -> tuple[int, int]:
    """(messages waiting, consumers attached) from a passive declare, which creates nothing.

    On a channel of its own: a passive declare of a missing queue closes its channel (404),
    and a publisher's channel must never be the one to go. Bounded by ``timeout_s``, so a
    broker that does not answer cannot hang a dashboard or a scrape.
    """
    async with asyncio.timeout(timeout_s):
        channel = await connection.channel()
        try:
            queue = await channel.declare_queue(queue_name, passive=True)
        finally:
            if not channel.is_closed:
                await channel.close()
    result = queue.declaration_result
    return result.message_count or 0, result.consumer_count or 0


async def jobs_waiting(connection: AbstractConnection) -> int:
    """Messages ready in the job queue, not yet delivered to a worker."""
    waiting, _ = await job_queue_state(connection)
    return waiting


def persistent_json(
    body: bytes,
    *,
    message_id: str | None = None,
    headers: dict[str, Any] | None = None,
    expiration_s: float | None = None,
) -> aio_pika.Message:
    """A message that survives a broker restart once confirmed."""
    return aio_pika.Message(
        body,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message_id,
        headers=headers,
        expiration=expiration_s,
    )
