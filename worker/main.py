"""Worker wiring: open the pool, the broker and the process pool; consume until told to stop."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from functools import partial

from aio_pika.abc import AbstractQueue, ConsumerTag

from infra.broker.connection import close_connection, connect
from infra.broker.events import EventPublisher
from infra.broker.topology import declare_job_queue
from infra.db.pool import close_pool, create_pool
from infra.heap import freeze_startup_heap
from infra.renditions import thumb_spec
from infra.settings import Settings
from infra.storage import open_storage
from worker.consumer import HARD_DEADLINE_GRACE_S, JobConsumer, RenditionPolicy
from worker.metrics_server import MetricsServer, start_metrics_server
from worker.processing import Limits
from worker.progress import ProgressReporter, init_pool_process
from worker.requeue import JobRequeuer
from worker.retries import RetryPolicy

log = logging.getLogger(__name__)

_CLAIM_MARGIN_S = 10.0

# Each shutdown step that talks to the broker or the database gets this long: with either
# one unreachable, the step would otherwise wait for it to come back, however long.
_SHUTDOWN_STEP_TIMEOUT_S = 5.0


async def run_worker(settings: Settings, *, concurrency: int | None = None) -> None:
    concurrency = concurrency or settings.worker_concurrency
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    storage = open_storage(settings.storage_dir)
    pool = await create_pool(settings)
    connection = await connect(settings, client_name="imagequeue-worker")
    # Pool processes must not be forked from this process: they would inherit its broker
    # and database sockets, and a killed worker's connection would stay open in its
    # orphans, holding its unacked jobs hostage. Spawned processes start clean.
    mp_context = multiprocessing.get_context("spawn")
    events_channel = await connection.channel(publisher_confirms=True)
    progress = ProgressReporter(
        await EventPublisher.declare(events_channel),
        mp_context,
        stage_interval_s=settings.progress_interval_s,
    )
    requeue_channel = await connection.channel(publisher_confirms=True)
    consumer = JobConsumer(
        concurrency=concurrency,
        pool=pool,
        storage=storage,
        # One single-process executor per pool process, made again whenever its process is
        # killed (stuck in C code past the deadline) or dies: a ProcessPoolExecutor breaks
        # as a whole when one of its processes dies, failing every render in it.
        make_executor=partial(
            ProcessPoolExecutor,
            max_workers=1,
            mp_context=mp_context,
            initializer=init_pool_process,
            initargs=(progress.pool_queue, os.getpid(), settings.log_level, settings.log_format),
        ),
        renditions=RenditionPolicy(
            thumb=thumb_spec(settings.thumbnail_max_px, settings.thumbnail_quality),
            presets=settings.renditions,
        ),
        limits=Limits(
            max_pixels=settings.max_image_pixels,
            time_limit_s=settings.job_timeout_s,
            expose_gps_coordinates=settings.expose_gps_coordinates,
            max_animation_frames=settings.max_animation_frames,
        ),
        progress=progress,
        requeuer=JobRequeuer(requeue_channel),
        retry_policy=RetryPolicy(
            max_attempts=settings.max_attempts,
            base_delay_s=settings.retry_base_delay_s,
            max_delay_s=settings.retry_max_delay_s,
        ),
        # No job runs longer than its time limit plus the hard-deadline grace, so a claim
        # older than that belongs to a worker that is gone.
        stale_after_s=settings.job_timeout_s + HARD_DEADLINE_GRACE_S + _CLAIM_MARGIN_S,
        crash_after_commit=settings.fault_crash_after_commit,
    )
    metrics_server: MetricsServer | None = None
    try:
        channel = await connection.channel()
        metrics_server = await start_metrics_server(
            settings,
            pool=pool,
            connection=connection,
            channel=channel,
            storage=storage,
            processes=consumer.pool_state,
        )
        # One unacked job per pool process plus one waiting for the first to free up; more
        # would only wait inside this process while another worker could have taken them.
        await channel.set_qos(prefetch_count=JobConsumer.prefetch_for(concurrency))
        queue = await declare_job_queue(channel)
        await consumer.declare_queues()
        await consumer.warm_up()
        freeze_startup_heap()
        consumer_tag = await queue.consume(consumer.on_message)
        log.info("worker consuming", extra={"queue": queue.name, "concurrency": concurrency})
        print(f"imagequeue worker consuming {queue.name!r} (concurrency {concurrency})", flush=True)
        await stop.wait()
        log.info("worker stopping")
        await _stop_consuming(queue, consumer_tag)
        await consumer.drain(settings.job_timeout_s)
    finally:
        await progress.close()
        if metrics_server is not None:
            await metrics_server.close()
        await close_connection(connection)
        await close_pool(pool)
        consumer.close()
    # Not in the finally: a worker that never started (its metrics port taken) says only why.
    log.info("worker stopped")


async def _stop_consuming(queue: AbstractQueue, consumer_tag: ConsumerTag) -> None:
    """Cancel the consumer if the broker answers soon; go on stopping either way.

    On a robust channel that lost its connection, ``cancel`` waits for the reconnect, for as
    long as the broker is away, and fails if it comes back. Nothing is lost by skipping it:
    deliveries that still arrive are handed back (``drain`` stops taking jobs), and closing
    the connection ends the consumer anyway.
    """
    try:
        await asyncio.wait_for(queue.cancel(consumer_tag), _SHUTDOWN_STEP_TIMEOUT_S)
    except Exception as exc:
        log.warning("consumer not cancelled (%s): stopping anyway", _why(exc))


def _why(exc: BaseException) -> str:
    return "no answer from the broker" if isinstance(exc, TimeoutError) else type(exc).__name__
