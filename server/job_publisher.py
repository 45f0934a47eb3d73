"""Where a job is published: persistent, to the durable job queue, with a publisher confirm."""

from __future__ import annotations

from aio_pika.abc import AbstractChannel

from infra.broker.topology import JOB_QUEUE, persistent_json


class JobPublisher:
    def __init__(self, channel: AbstractChannel) -> None:
        # The channel is opened with publisher confirms (aio-pika's default), so
        # ``publish`` returns only once the broker has taken responsibility.
        self._channel = channel

    async def publish(self, image_id: int, job: bytes) -> None:
        """``job``: an encoded ``ImageJob``, as the outbox holds it."""
        await self._channel.default_exchange.publish(
            persistent_json(job, message_id=f"image-{image_id}"),
            routing_key=JOB_QUEUE,
            mandatory=True,
        )
