"""Where a job is published: persistent, to the durable job queue, with a publisher confirm."""

from __future__ import annotations

from aio_pika.abc import AbstractChannel

from infra.broker.messages import ImageJob
from infra.broker.topology import JOB_QUEUE, persistent_json


class JobPublisher:
    def __init__(self, channel: AbstractChannel) -> None:
        # The channel is opened with publisher confirms (aio-pika's default), so
        # ``publish`` returns only once the broker has taken responsibility.
        self._channel = channel

    async def publish(self, job: ImageJob) -> None:
        await self._channel.default_exchange.publish(
            persistent_json(job.encode(), message_id=f"image-{job.image_id}"),
            routing_key=JOB_QUEUE,
            mandatory=True,
        )
