"""The outbox relay: an upload's job is published by its own server, once; what it could not
publish is published by any server's relay later."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import aio_pika
import asyncpg
import pytest
from aio_pika.abc import AbstractChannel

from infra.broker.events import EventPublisher
from infra.broker.messages import ImageJob
from infra.broker.topology import declare_job_queue
from infra.db import outbox
from infra.db.images import ImageRecord
from infra.db.outbox import OutboxEntry
from server.job_publisher import JobPublisher
from server.outbox_relay import OutboxRelay
from tests.services import create_vhost, delete_vhost, require_rabbitmq


@pytest.fixture
def own_vhost() -> Iterator[str]:
    """A vhost of the test's own: the session's has a worker consuming its job queue."""
    require_rabbitmq()
    url = create_vhost()
    yield url
    delete_vhost(url)


@asynccontextmanager
async def _server_relay(
    pool: asyncpg.Pool, amqp_url: str
) -> AsyncIterator[tuple[OutboxRelay, AbstractChannel]]:
    """One server's relay and its broker channel, built as ``server/resources.py`` builds
    them (not started: the test calls its steps)."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await declare_job_queue(channel)
        relay = OutboxRelay(
            pool=pool,
            publisher=JobPublisher(channel),
            events=await EventPublisher.declare(channel),
            idle_poll_s=3600,
        )
        yield relay, channel


async def _drain_jobs(amqp_url: str) -> list[ImageJob]:
    """The jobs waiting in the job queue, taken off it."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        queue = await declare_job_queue(await connection.channel())
        jobs = []
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            jobs.append(ImageJob.decode(message.body))
        return jobs


async def _upload(pool: asyncpg.Pool) -> tuple[ImageRecord, OutboxEntry]:
    return await outbox.insert_pending_image(
        pool,
        filename="cat.jpg",
        original_path="originals/cat.jpg",
        file_size=3,
        content_type="image/jpeg",
    )


async def _outbox_entries(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM job_outbox"))


async def _as_if_its_server_had_waited_too_long(pool: asyncpg.Pool) -> None:
    await pool.execute("UPDATE job_outbox SET publish_after = now() - interval '1 second'")


async def test_an_uploads_job_is_published_once_by_its_own_server_not_by_another(
    pool: asyncpg.Pool, own_vhost: str
) -> None:
    async with (
        _server_relay(pool, own_vhost) as (own, _),
        _server_relay(pool, own_vhost) as (other, _),
    ):
        # Given an upload just committed on one server
        record, entry = await _upload(pool)

        # When another server's relay looks at the outbox before the upload's own server
        # has published the job, it leaves the entry alone
        assert await other.publish_pending() == 0

        # And the upload's own server publishes it from memory
        own.hand_over(entry)
        assert await own.publish_handed_over() == 1

        # Then the image's job is in the queue once, and the entry is gone
        jobs = await _drain_jobs(own_vhost)
        assert [(job.image_id, job.original_path) for job in jobs] == [
            (record.id, "originals/cat.jpg")
        ]
        assert await _outbox_entries(pool) == 0
        assert await other.publish_pending() == 0
        assert await _drain_jobs(own_vhost) == []


async def test_a_job_its_server_did_not_publish_is_published_by_any_relay_once_due(
    pool: asyncpg.Pool, own_vhost: str
) -> None:
    async with (
        _server_relay(pool, own_vhost) as (own, own_channel),
        _server_relay(pool, own_vhost) as (other, _),
    ):
        # Given an upload whose server could not publish its job: its broker channel was
        # gone when it tried
        record, entry = await _upload(pool)
        await own_channel.close()
        own.hand_over(entry)
        with pytest.raises(Exception):  # noqa: B017 - whatever aio-pika raises for it
            await own.publish_handed_over()

        # Then the entry is still in the outbox
        assert await _outbox_entries(pool) == 1
        assert await _drain_jobs(own_vhost) == []

        # And once its server's turn is over, another server's relay publishes it
        await _as_if_its_server_had_waited_too_long(pool)
        assert await other.publish_pending() == 1
        assert [job.image_id for job in await _drain_jobs(own_vhost)] == [record.id]
        assert await _outbox_entries(pool) == 0
