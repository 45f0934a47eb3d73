"""Every queue, exchange and routing key name imagequeue uses, and the code that declares them.

No other module spells a queue or exchange name; they import it from here.
"""

from __future__ import annotations

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractQueue

JOB_QUEUE = "image_processing"
"""The original design's queue name: producers written against it keep working."""


async def declare_job_queue(channel: AbstractChannel) -> AbstractQueue:
    """Declare the durable job queue (idempotent; same arguments on every declare)."""
    return await channel.declare_queue(JOB_QUEUE, durable=True)


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
