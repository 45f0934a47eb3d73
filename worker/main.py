"""Worker wiring: open the pool, the broker and the process pool; consume until told to stop."""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ProcessPoolExecutor
from functools import partial

from infra.broker.connection import connect
from infra.broker.events import EventPublisher
from infra.broker.topology import declare_job_queue
from infra.db.pool import create_pool
from infra.renditions import thumb_spec
from infra.settings import Settings
from infra.storage import open_storage
from worker.consumer import JobConsumer, RenditionPolicy
from worker.metrics_server import MetricsServer, start_metrics_server
from worker.processing import Limits
from worker.progress import ProgressReporter, init_pool_process

log = logging.getLogger(__name__)


async def run_worker(settings: Settings, *, concurrency: int | None = None) -> None:
    concurrency = concurrency or settings.worker_concurrency
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    pool = await create_pool(settings)
    connection = await connect(settings, client_name="imagequeue-worker")
    events_channel = await connection.channel(publisher_confirms=True)
    progress = ProgressReporter(await EventPublisher.declare(events_channel))
    consumer = JobConsumer(
        pool=pool,
        storage=open_storage(settings.storage_dir),
        # A factory, because a pool stuck in C code past the deadline is replaced whole.
        make_executor=partial(
            ProcessPoolExecutor,
            max_workers=concurrency,
            initializer=init_pool_process,
            initargs=(progress.pool_queue,),
        ),
        renditions=RenditionPolicy(
            thumb=thumb_spec(settings.thumbnail_max_px, settings.thumbnail_quality),
            presets=settings.renditions,
        ),
        limits=Limits(
            max_pixels=settings.max_image_pixels,
            time_limit_s=settings.job_timeout_s,
            expose_gps_coordinates=settings.expose_gps_coordinates,
        ),
        progress=progress,
    )
    metrics_server: MetricsServer | None = None
    try:
        metrics_server = await start_metrics_server(settings, pool=pool, connection=connection)
        channel = await connection.channel()
        # One unacked job per pool process: more would only wait inside this process
        # while another worker could have taken them.
        await channel.set_qos(prefetch_count=concurrency)
        queue = await declare_job_queue(channel)
        consumer_tag = await queue.consume(consumer.on_message)
        log.info("worker consuming", extra={"queue": queue.name, "concurrency": concurrency})
        print(f"imagequeue worker consuming {queue.name!r} (concurrency {concurrency})", flush=True)
        await stop.wait()
        log.info("worker stopping")
        await queue.cancel(consumer_tag)
        await consumer.drain(settings.job_timeout_s)
    finally:
        await progress.close()
        if metrics_server is not None:
            await metrics_server.close()
        await connection.close()
        await pool.close()
        consumer.close()
