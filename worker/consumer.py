"""Where a job is consumed: decode, claim the row, render off the loop, record, ack."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial

import asyncpg
from aio_pika.abc import AbstractIncomingMessage

from infra.broker.messages import DecodeError, ImageJob
from infra.db import images
from infra.metrics import JOBS_FAILED, JOBS_PROCESSED, PROCESSING_SECONDS
from infra.storage import Storage
from worker.processing import PermanentImageError, ThumbnailSpec, make_thumbnail
from worker.progress import ProgressReporter, stage_callback

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JobOutcome:
    image_id: int | None
    status: str
    detail: str = ""
    reason: str = ""
    """Why a job failed, from a small fixed set (a metric label); empty unless failed."""


class JobConsumer:
    """Handles one delivery at a time per call; the channel's prefetch bounds concurrency."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        storage: Storage,
        executor: Executor,
        spec: ThumbnailSpec,
        job_timeout_s: float,
        progress: ProgressReporter,
    ) -> None:
        self._progress = progress
        self._pool = pool
        self._storage = storage
        self._executor = executor
        self._spec = spec
        self._job_timeout_s = job_timeout_s
        self._in_flight: set[asyncio.Task[JobOutcome]] = set()

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._in_flight.add(task)
        try:
            outcome = await self.handle(message)
        finally:
            self._in_flight.discard(task)
        JOBS_PROCESSED.labels(outcome.status).inc()
        if outcome.reason:
            JOBS_FAILED.labels(outcome.reason).inc()
        log.info(
            "job %s",
            outcome.status,
            extra={
                "image_id": outcome.image_id,
                "outcome": outcome.status,
                "detail": outcome.detail,
            },
        )

    async def drain(self, timeout_s: float) -> None:
        """Wait for jobs in flight; what is still running after ``timeout_s`` is redelivered."""
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=timeout_s)

    async def handle(self, message: AbstractIncomingMessage) -> JobOutcome:
        try:
            job = ImageJob.decode(message.body)
        except DecodeError as exc:
            # Requeueing a body we cannot read would loop forever.
            await message.reject(requeue=False)
            return JobOutcome(None, "rejected", str(exc))

        record = await images.claim_for_processing(self._pool, job.image_id)
        if record is None:
            # Deleted, or already final: a duplicate delivery costs nothing.
            await message.ack()
            return JobOutcome(job.image_id, "skipped", "image is gone or already final")

        self._progress.started(job.image_id)
        loop = asyncio.get_running_loop()
        render = partial(
            make_thumbnail,
            self._storage,
            job.original_path,
            job.thumbnail_path,
            self._spec,
            stage_callback(job.image_id),
        )
        # Timed here, in the parent: the pool processes' own metrics would never be scraped.
        render_started = time.perf_counter()
        try:
            result = await asyncio.wait_for(
                loop.run_in_executor(self._executor, render), timeout=self._job_timeout_s
            )
        except PermanentImageError as exc:
            return await self._fail(message, job.image_id, str(exc), reason="unusable_image")
        except TimeoutError:
            error = f"processing exceeded the time limit of {self._job_timeout_s:g} s"
            return await self._fail(message, job.image_id, error, reason="timeout")
        except Exception as exc:
            # Unknown failures must not leave the image in processing or loop the job
            # forever; record them and move on.
            log.exception("job crashed", extra={"image_id": job.image_id})
            error = f"internal error while processing: {type(exc).__name__}"
            return await self._fail(message, job.image_id, error, reason="internal")
        PROCESSING_SECONDS.labels(rendition="thumb").observe(time.perf_counter() - render_started)

        completed = await images.mark_completed(
            self._pool,
            job.image_id,
            thumbnail_path=job.thumbnail_path,
            thumbnail_size=result.size_bytes,
        )
        if completed is None:
            # The image was deleted while we worked: the thumbnail belongs to nobody.
            await asyncio.to_thread(self._storage.delete, job.thumbnail_path)
            await message.ack()
            return JobOutcome(job.image_id, "skipped", "image deleted during processing")
        self._progress.completed(job.image_id)
        # Ack only after the row says completed: a crash before this line redelivers.
        await message.ack()
        return JobOutcome(job.image_id, "completed", f"{result.width}x{result.height}")

    async def _fail(
        self, message: AbstractIncomingMessage, image_id: int, error: str, *, reason: str
    ) -> JobOutcome:
        await images.mark_failed(self._pool, image_id, error=error)
        self._progress.failed(image_id, error)
        await message.ack()
        return JobOutcome(image_id, "failed", error, reason=reason)
