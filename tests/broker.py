"""Looking into and publishing straight onto a test's RabbitMQ vhost, bypassing the app."""

from __future__ import annotations

import asyncio

import aio_pika

from infra.broker.topology import JOB_QUEUE


def queue_depth(amqp_url: str, queue: str) -> int:
    """Messages ready in ``queue`` (which must exist)."""

    async def depth() -> int:
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            declared = await channel.declare_queue(queue, passive=True)
            return declared.declaration_result.message_count or 0

    return asyncio.run(depth())


def publish_raw(amqp_url: str, body: bytes, queue: str = JOB_QUEUE) -> None:
    """Publish ``body`` as is to ``queue`` through the default exchange, confirmed."""

    async def publish() -> None:
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            await channel.default_exchange.publish(aio_pika.Message(body), routing_key=queue)

    asyncio.run(publish())
