"""What the server opens at start-up and closes at shutdown, passed to every request."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
from aio_pika.abc import AbstractChannel, AbstractRobustConnection

from infra.broker.connection import close_connection, connect
from infra.broker.events import EventPublisher
from infra.broker.topology import declare_job_queue, jobs_waiting
from infra.db.migrate import migrate
from infra.db.pool import close_pool, create_pool
from infra.settings import Settings
from infra.storage import Storage, open_storage
from server.events.hub import EventHub
from server.events.listener import EventListener
from server.file_deleter import FileDeleter
from server.job_publisher import JobPublisher
from server.outbox_relay import OutboxRelay
from server.service import ImageService
from server.staging_sweeper import StagingSweeper
from server.stuck_sweeper import StuckSweeper


@dataclass(frozen=True)
class Resources:
    settings: Settings
    pool: asyncpg.Pool
    broker: AbstractRobustConnection
    channel: AbstractChannel
    storage: Storage
    service: ImageService
    hub: EventHub


@contextlib.asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    if settings.migrate_on_start:
        await migrate(settings.database_url.get_secret_value())
    storage = open_storage(settings.storage_dir)
    async with contextlib.AsyncExitStack() as stack:
        pool = await create_pool(settings)
        stack.push_async_callback(close_pool, pool)
        broker = await connect(settings, client_name="imagequeue-server")
        stack.push_async_callback(close_connection, broker)
        channel = await broker.channel(publisher_confirms=True)
        await declare_job_queue(channel)
        hub = EventHub(max_buffered_images=settings.subscriber_buffer_images)
        listener = EventListener(
            settings.amqp_url.get_secret_value(),
            hub,
            connect_timeout_s=settings.amqp_connect_timeout_s,
        )
        listener.start()
        stack.push_async_callback(listener.stop)
        # One publisher of the server's events: PENDING from the relay, DELETED from deletes.
        events = await EventPublisher.declare(channel)
        relay = OutboxRelay(
            pool=pool,
            publisher=JobPublisher(channel),
            events=events,
            idle_poll_s=settings.outbox_poll_interval_s,
        )
        relay.start()
        stack.push_async_callback(relay.stop)
        sweeper = StuckSweeper(
            pool=pool,
            relay=relay,
            jobs_waiting=functools.partial(jobs_waiting, broker),
            stuck_after_s=settings.stuck_after_s,
            interval_s=settings.stuck_sweep_interval_s,
        )
        sweeper.start()
        stack.push_async_callback(sweeper.stop)
        staging_sweeper = StagingSweeper(storage=storage, job_timeout_s=settings.job_timeout_s)
        staging_sweeper.start()
        stack.push_async_callback(staging_sweeper.stop)
        file_deleter = FileDeleter(pool=pool, storage=storage)
        file_deleter.start()
        stack.push_async_callback(file_deleter.stop)
        service = ImageService(
            pool=pool,
            storage=storage,
            relay=relay,
            events=events,
            files=file_deleter,
            max_upload_bytes=settings.max_upload_bytes,
            max_image_pixels=settings.max_image_pixels,
            max_files_per_request=settings.max_files_per_request,
        )
        yield Resources(settings, pool, broker, channel, storage, service, hub)


def resources_of(app: object) -> Resources:
    resources: Resources = app.state.resources  # type: ignore[attr-defined]
    return resources
