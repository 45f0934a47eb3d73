"""Where a job is consumed: decode, claim the row, render off the loop, record, ack."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import partial

import asyncpg
from aio_pika.abc import AbstractIncomingMessage

from infra.broker.messages import DecodeError, ImageJob
from infra.db import images
from infra.db.images import ImageRecord
from infra.metrics import JOBS_FAILED, JOBS_PROCESSED, PROCESSING_SECONDS
from infra.renditions import (
    THUMB,
    InvalidRenditions,
    RenditionSpec,
    parse_renditions,
    rendition_key,
)
from infra.storage import Storage
from worker.errors import PermanentImageError, TimeLimitExceeded
from worker.processing import Limits, ProcessResult, Target, process_image
from worker.progress import ProgressReporter, stage_callback

log = logging.getLogger(__name__)

# Past the time limit the pool process interrupts the job itself (SIGALRM); this much
# longer we wait before deciding it is stuck in C code and replacing the pool.
HARD_DEADLINE_GRACE_S = 5.0


@dataclass(frozen=True, slots=True)
class JobOutcome:
    image_id: int | None
    status: str
    detail: str = ""
    reason: str = ""
    """Why a job failed, from a small fixed set (a metric label); empty unless failed."""


@dataclass(frozen=True, slots=True)
class RenditionPolicy:
    thumb: RenditionSpec
    """Always made, at the job's ``thumbnailPath``."""
    presets: tuple[RenditionSpec, ...]
    """Made when the upload did not ask for its own set."""


class JobConsumer:
    """Handles one delivery at a time per call; the channel's prefetch bounds concurrency."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        storage: Storage,
        make_executor: Callable[[], Executor],
        renditions: RenditionPolicy,
        limits: Limits,
        progress: ProgressReporter,
    ) -> None:
        self._progress = progress
        self._pool = pool
        self._storage = storage
        self._make_executor = make_executor
        self._executor = make_executor()
        self._renditions = renditions
        self._limits = limits
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

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

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
        try:
            targets = self._targets(job, record)
            result = await self._render(job.image_id, job.original_path, targets)
        except TimeLimitExceeded as exc:
            return await self._fail(message, job.image_id, str(exc), reason="timeout")
        except PermanentImageError as exc:
            return await self._fail(message, job.image_id, str(exc), reason="unusable_image")
        except BrokenProcessPool:
            # Another job's stuck process took the pool down with this one: not this
            # image's fault, so let RabbitMQ deliver it again.
            await message.nack(requeue=True)
            return JobOutcome(job.image_id, "requeued", "the process pool was replaced")
        except Exception as exc:
            # Unknown failures must not leave the image in processing or loop the job
            # forever; record them and move on.
            log.exception("job crashed", extra={"image_id": job.image_id})
            error = f"internal error while processing: {type(exc).__name__}"
            return await self._fail(message, job.image_id, error, reason="internal")

        for rendition in result.renditions:
            PROCESSING_SECONDS.labels(rendition=rendition.name).observe(rendition.elapsed_s)

        thumb = next(r for r in result.renditions if r.name == THUMB)
        completed = await images.mark_completed(
            self._pool,
            job.image_id,
            images.Processed(
                thumbnail_path=thumb.key,
                thumbnail_size=thumb.size_bytes,
                width=result.width,
                height=result.height,
                format=result.format,
                metadata=result.metadata,
                placeholder=result.placeholder,
                dominant_color=result.dominant_color,
                renditions=[r.as_json() for r in result.renditions],
            ),
        )
        if completed is None:
            # The image was deleted while we worked: the renditions belong to nobody.
            for rendition in result.renditions:
                await asyncio.to_thread(self._storage.delete, rendition.key)
            await message.ack()
            return JobOutcome(job.image_id, "skipped", "image deleted during processing")
        self._progress.completed(job.image_id)
        # Ack only after the row says completed: a crash before this line redelivers.
        await message.ack()
        return JobOutcome(job.image_id, "completed", f"{thumb.width}x{thumb.height}")

    def _targets(self, job: ImageJob, record: ImageRecord) -> list[Target]:
        """The thumb at the job's key, then the upload's own renditions or the presets."""
        specs = self._renditions.presets
        if record.requested_renditions is not None:
            try:
                specs = parse_renditions(record.requested_renditions)
            except InvalidRenditions as exc:
                raise PermanentImageError(f"invalid requested renditions: {exc}") from exc
        thumb = Target(self._renditions.thumb, job.thumbnail_path)
        return [thumb, *(Target(spec, rendition_key(job.original_path, spec)) for spec in specs)]

    async def _render(
        self, image_id: int, original_key: str, targets: list[Target]
    ) -> ProcessResult:
        loop = asyncio.get_running_loop()
        render = partial(
            process_image,
            self._storage,
            original_key,
            targets,
            self._limits,
            stage_callback(image_id),
        )
        future = loop.run_in_executor(self._executor, render)
        try:
            return await asyncio.wait_for(
                future, timeout=self._limits.time_limit_s + HARD_DEADLINE_GRACE_S
            )
        except TimeoutError:
            # The pool process ignored SIGALRM (stuck inside C code): only killing it frees
            # the slot. Jobs sharing the pool are requeued through BrokenProcessPool.
            log.error("job over the hard deadline: replacing the process pool")
            self._replace_executor()
            raise TimeLimitExceeded(self._limits.time_limit_s) from None

    def _replace_executor(self) -> None:
        stuck, self._executor = self._executor, self._make_executor()
        for process in list(getattr(stuck, "_processes", {}).values()):
            process.kill()
        stuck.shutdown(wait=False, cancel_futures=True)

    async def _fail(
        self, message: AbstractIncomingMessage, image_id: int, error: str, *, reason: str
    ) -> JobOutcome:
        # Permanent: a retry would fail the same way, so record it and ack.
        await images.mark_failed(self._pool, image_id, error=error)
        self._progress.failed(image_id, error)
        await message.ack()
        return JobOutcome(image_id, "failed", error, reason=reason)
