"""Where a job is consumed: decode, claim the row, render off the loop, record, ack."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import partial

import asyncpg
from aio_pika.abc import AbstractIncomingMessage

from infra.broker.messages import DecodeError, ImageJob
from infra.db import images
from infra.db.availability import DATABASE_UNAVAILABLE
from infra.db.images import ImageRecord, ImageStatus
from infra.health import OK, check_storage
from infra.metrics import JOBS_FAILED, JOBS_PROCESSED, JOBS_RETRIED, PROCESSING_SECONDS
from infra.renditions import (
    THUMB,
    InvalidRenditions,
    RenditionSpec,
    parse_renditions,
    rendition_key,
    thumbnail_key_for,
)
from infra.storage import InvalidKey, Storage, StorageError, key_of_path
from worker.errors import PermanentImageError, TimeLimitExceeded
from worker.job_paths import JobPaths, PathsRefused, job_paths
from worker.lanes import Lane, Lanes
from worker.processing import Limits, ProcessResult, Target, process_image
from worker.progress import ProgressReporter
from worker.requeue import JobRequeuer, attempts_made, database_waits
from worker.retries import (
    RetryPolicy,
    database_unavailable,
    is_transient,
    transient_reason,
)

log = logging.getLogger(__name__)

_HAND_BACK_DELAY_S = 1.0

# Past the time limit the pool process interrupts the job itself (SIGALRM); this much
# longer we wait before deciding it is stuck in C code and replacing that pool process.
HARD_DEADLINE_GRACE_S = 5.0


@dataclass(frozen=True, slots=True)
class JobOutcome:
    image_id: int | None
    status: str
    detail: str = ""
    reason: str = ""
    """Why a job failed, from a small fixed set (a metric label); empty unless failed."""


CUSTOM_RENDITION_LABEL = "custom"


@dataclass(frozen=True, slots=True)
class RenditionPolicy:
    thumb: RenditionSpec
    """Always made, at the thumbnail key ``job_paths`` settles."""
    presets: tuple[RenditionSpec, ...]
    """Made when the upload did not ask for its own set."""

    def metric_label(self, name: str) -> str:
        """The ``rendition`` label of a render's duration: its name if an operator chose it.

        Names an upload chooses are the client's: as label values, each new one would be
        a new histogram series in the worker's memory and in Prometheus.
        """
        if name == self.thumb.name or any(name == preset.name for preset in self.presets):
            return name
        return CUSTOM_RENDITION_LABEL


class _Slot:
    """One pool process's turn (its lane), given back as soon as its rendering ends
    (idempotent)."""

    def __init__(self, lanes: Lanes) -> None:
        self._lanes = lanes
        self._lane: Lane | None = None

    async def acquire(self) -> None:
        self._lane = await self._lanes.take()

    @property
    def lane(self) -> Lane:
        assert self._lane is not None, "the slot is not held"
        return self._lane

    def release(self) -> None:
        if self._lane is not None:
            lane, self._lane = self._lane, None
            self._lanes.give_back(lane)


class JobConsumer:
    """Handles one delivery per call, rendering at most ``concurrency`` at a time.

    The channel's prefetch is one more than that (``prefetch_for``): the extra delivery waits
    here, unclaimed, and takes the first pool process that finishes rendering, while the
    finished job's row update, event and ack happen alongside. Without it each pool process
    would sit idle for that bookkeeping and the broker's next delivery.
    """

    def __init__(
        self,
        *,
        concurrency: int,
        pool: asyncpg.Pool,
        storage: Storage,
        make_executor: Callable[[], Executor],
        renditions: RenditionPolicy,
        limits: Limits,
        progress: ProgressReporter,
        requeuer: JobRequeuer,
        retry_policy: RetryPolicy,
        stale_after_s: float,
        crash_after_commit: bool = False,
    ) -> None:
        self._requeuer = requeuer
        self._retry_policy = retry_policy
        self._stale_after_s = stale_after_s
        self._crash_after_commit = crash_after_commit
        self._progress = progress
        self._pool = pool
        self._storage = storage
        # One executor per pool process: killing one (a job stuck past its hard deadline)
        # must not break the renders of the others (worker/lanes.py).
        self._lanes = Lanes(concurrency, make_executor)
        self._renditions = renditions
        self._limits = limits
        self._in_flight: set[asyncio.Task[None]] = set()
        self._stopping = False

    @staticmethod
    def prefetch_for(concurrency: int) -> int:
        return concurrency + 1

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._in_flight.add(task)
        try:
            outcome = await self.handle(message)
        except Exception:
            # Nothing could be recorded (broker or database gone mid-way). Hand the
            # delivery back after a pause; if the channel is gone too, the broker
            # redelivers it when the connection is restored.
            log.exception("job handed back for redelivery")
            await asyncio.sleep(_HAND_BACK_DELAY_S)
            with contextlib.suppress(Exception):
                await message.nack(requeue=True)
            return
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

    async def declare_queues(self) -> None:
        await self._requeuer.declare()

    async def warm_up(self) -> None:
        await self._lanes.warm_up()

    async def drain(self, timeout_s: float) -> None:
        """Wait for jobs in flight; what is still running after ``timeout_s`` is redelivered.

        A delivery still waiting for a pool process goes back to the queue unclaimed.
        """
        self._stopping = True
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=timeout_s)

    def close(self) -> None:
        """Stop the pool, after ``drain``.

        Rendering still going on then is for jobs the broker redelivers once this worker's
        connection is closed: it is killed, not waited for, since a process stuck in C code
        would otherwise hold the worker until it is killed from outside.
        """
        self._lanes.close()

    async def handle(self, message: AbstractIncomingMessage) -> JobOutcome:
        try:
            job = ImageJob.decode(message.body)
        except DecodeError as exc:
            # Requeueing a body we cannot read would loop forever: park it for a person.
            await self._requeuer.dead_letter(message, reason=f"undecodable job: {exc}")
            await message.ack()
            return JobOutcome(None, "dead_lettered", str(exc), reason="undecodable")
        slot = _Slot(self._lanes)
        # Claim only once a pool process is free: a row says PROCESSING while it renders,
        # not while it waits its turn here.
        await slot.acquire()
        try:
            if self._stopping:
                await message.nack(requeue=True)
                return JobOutcome(job.image_id, "handed_back", "the worker is stopping")
            return await self._claim_and_process(message, job, slot)
        finally:
            slot.release()

    async def _claim_and_process(
        self, message: AbstractIncomingMessage, job: ImageJob, slot: _Slot
    ) -> JobOutcome:
        try:
            claimed = await self._claim(message, job, take_over=bool(message.redelivered))
            if claimed is None:
                claimed = await self._take_back_own_claim(message, job)
        except PathsRefused as refused:
            return await self._refuse(message, refused)
        except Exception as exc:
            if not database_unavailable(exc):
                return await self._crashed(message, job, exc)
            return await self._wait_for_outage(message, job, exc, what="database")
        if claimed is None:
            current = await images.get(self._pool, job.image_id)
            if current is not None and current.status is ImageStatus.PROCESSING:
                # Another copy of this job is in progress (a publish repeated after a lost
                # confirm). Look again once that holder must have finished or died,
                # rather than trusting it blindly or working twice at once.
                await self._requeuer.set_aside(message, delay_s=self._stale_after_s)
                await message.ack()
                return JobOutcome(job.image_id, "deferred", "another delivery holds the image")
            # Deleted or final: a duplicate costs nothing.
            await message.ack()
            return JobOutcome(job.image_id, "skipped", "image is gone or already final")
        record, paths = claimed
        attempts = max(record.attempts, attempts_made(message) + 1)
        if self._retry_policy.exhausted(attempts - 1):
            # Each crash of a worker holding this job redelivered it: stop the loop here.
            error = f"gave up after {attempts - 1} attempts: the worker stopped mid-job"
            return await self._give_up(message, job, error, attempts - 1)
        try:
            return await self._process(message, job, record, paths, slot)
        except Exception as exc:
            if await self._storage_is_down(exc):
                return await self._wait_for_storage(message, job, exc)
            if not is_transient(exc):
                return await self._crashed(message, job, exc)
            return await self._retry(message, job, exc, attempts)

    async def _claim(
        self,
        message: AbstractIncomingMessage,
        job: ImageJob,
        *,
        take_over: bool,
        held_with_attempts: int | None = None,
    ) -> tuple[ImageRecord, JobPaths] | None:
        """The image's row, claimed, and where the job reads and writes; None when the image
        is gone, final or held by another delivery.

        The paths are checked against the row before it is claimed: a job that is not the
        image's (``PathsRefused``) must leave the row as it is. The row's ``original_path``
        never changes, so what was checked is what gets claimed.
        """
        original_key = key_of_path(job.original_path)
        thumbnail_key = key_of_path(job.thumbnail_path)
        if thumbnail_key == thumbnail_key_for(original_key):
            # Every job the server makes. Its paths are the image's if its original is,
            # which the claim itself checks: no read of the row before it, on every job's
            # way to a pool process. Any miss takes the long way, which says why.
            record = await images.claim_for_processing(
                self._pool,
                job.image_id,
                take_over=take_over,
                stale_after_s=self._stale_after_s,
                original_key=original_key,
                held_with_attempts=held_with_attempts,
            )
            if record is not None:
                return record, JobPaths(record.original_key, thumbnail_key)
        current = await images.get(self._pool, job.image_id)
        if current is None:
            return None
        paths = await job_paths(self._pool, job, current)
        record = await images.claim_for_processing(
            self._pool,
            job.image_id,
            take_over=take_over,
            stale_after_s=self._stale_after_s,
            held_with_attempts=held_with_attempts,
        )
        return None if record is None else (record, paths)

    async def _take_back_own_claim(
        self, message: AbstractIncomingMessage, job: ImageJob
    ) -> tuple[ImageRecord, JobPaths] | None:
        """The image's claim, when the delivery that holds it was this job's previous one.

        A delivery that could not record its end while the database was away (its render
        finished, or failed and was to be retried) leaves the row ``processing`` and sends
        the job on with the attempts it made. That count is the row's only while no other
        delivery has claimed the image since (each claim adds one), so it tells this job's
        own leftover claim from a copy in flight elsewhere, which must not be taken over.
        The claim checks that count again in its own statement: between the read and the
        claim, the stuck sweeper may release the image and another delivery claim it.
        """
        made = attempts_made(message)
        current = await images.get(self._pool, job.image_id)
        if (
            made == 0
            or current is None
            or current.status is not ImageStatus.PROCESSING
            or current.attempts != made
        ):
            return None
        log.info(
            "job takes back the claim its previous delivery left",
            extra={"image_id": job.image_id, "attempt": made},
        )
        return await self._claim(message, job, take_over=True, held_with_attempts=made)

    async def _refuse(self, message: AbstractIncomingMessage, refused: PathsRefused) -> JobOutcome:
        # Poison, as an undecodable body is: every delivery would be refused the same way.
        # Parked for a person, with the image's row and files as they were.
        log.warning(
            "job refused: its paths disagree with image %s's row (%s)",
            refused.image_id,
            ", ".join(refused.fields),
            extra={
                "image_id": refused.image_id,
                "fields": refused.fields,
                "detail": str(refused),
            },
        )
        await self._requeuer.dead_letter(message, reason=f"job refused: {refused}")
        await message.ack()
        return JobOutcome(refused.image_id, "dead_lettered", str(refused), reason="paths_disagree")

    async def _wait_for_outage(
        self, message: AbstractIncomingMessage, job: ImageJob, exc: BaseException, *, what: str
    ) -> JobOutcome:
        """``what`` (the database or the storage) is away: try again later, however long it is away.

        No attempt is counted (a caller that claimed the image has given its count back).
        Counted, a long outage would use up the job's attempts and dead-letter it, or fail
        the image, for a fault that is not the image's; with the database away, its row,
        never marked failed, would also stay pending with no job left to finish it.
        """
        waits = database_waits(message) + 1
        wait_attempt = self._retry_policy.wait_attempt(waits)
        delay_s = self._retry_policy.backoff_s(wait_attempt)
        JOBS_RETRIED.labels(transient_reason(exc)).inc()
        log.warning(
            "%s unavailable: job will be retried without using an attempt",
            what,
            extra={"image_id": job.image_id, "waits": waits, "delay_s": round(delay_s, 2)},
        )
        await self._requeuer.wait_for_outage(
            message, waits=waits, wait_attempt=wait_attempt, delay_s=delay_s
        )
        await message.ack()
        return JobOutcome(job.image_id, "retrying", f"{type(exc).__name__}: {exc}")

    async def _storage_is_down(self, exc: BaseException) -> bool:
        """Whether ``exc`` is the storage failing as a whole (full, read-only, unmounted),
        rather than this job's files: the storage's own write check fails too.

        Missing originals and invalid keys never get here (they are permanent failures).
        """
        if not isinstance(exc, StorageError) or isinstance(exc, InvalidKey):
            return False
        return await check_storage(self._storage) != OK

    async def _wait_for_storage(
        self, message: AbstractIncomingMessage, job: ImageJob, exc: BaseException
    ) -> JobOutcome:
        # Recording this is best effort while the database is away too: the row then
        # stays processing, and the job's next delivery finds it set aside.
        with contextlib.suppress(*DATABASE_UNAVAILABLE):
            await images.release_unattempted(
                self._pool, job.image_id, error=f"waiting for storage: {exc}"
            )
        return await self._wait_for_outage(message, job, exc, what="storage")

    async def _crashed(
        self, message: AbstractIncomingMessage, job: ImageJob, exc: BaseException
    ) -> JobOutcome:
        # A bug, not bad luck: retrying would fail the same way, and requeueing would loop.
        log.error("job crashed", exc_info=exc, extra={"image_id": job.image_id})
        error = f"internal error while processing: {type(exc).__name__}"
        return await self._fail(message, job.image_id, error, reason="internal")

    async def _process(
        self,
        message: AbstractIncomingMessage,
        job: ImageJob,
        record: ImageRecord,
        paths: JobPaths,
        slot: _Slot,
    ) -> JobOutcome:
        self._progress.started(job.image_id)
        try:
            targets = self._targets(paths, record)
            result = await self._render(slot.lane, job.image_id, paths.original_key, targets)
        except TimeLimitExceeded as exc:
            return await self._fail(message, job.image_id, str(exc), reason="timeout")
        except PermanentImageError as exc:
            return await self._fail(message, job.image_id, str(exc), reason="unusable_image")
        finally:
            # The next waiting delivery renders while this one records its result.
            slot.release()

        for rendition in result.renditions:
            label = self._renditions.metric_label(rendition.name)
            PROCESSING_SECONDS.labels(rendition=label).observe(rendition.elapsed_s)

        thumb = next(r for r in result.renditions if r.name == THUMB)
        completed = await self._record_completed(
            job.image_id,
            images.Processed(
                thumbnail_path=record.path_for(thumb.key),
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
        if not completed:
            if await images.get(self._pool, job.image_id) is None:
                # Deleted while we worked: the renditions belong to nobody.
                for rendition in result.renditions:
                    await asyncio.to_thread(self._storage.delete, rendition.key)
            # Otherwise another delivery finished first, writing the same keys.
            await message.ack()
            return JobOutcome(job.image_id, "skipped", "image deleted or finished elsewhere")
        if self._crash_after_commit:
            os._exit(70)  # fault injection for tests: the row is written, the ack is not
        self._progress.completed(job.image_id)
        # Ack only after the row says completed: a crash before this line redelivers.
        await message.ack()
        return JobOutcome(job.image_id, "completed", f"{thumb.width}x{thumb.height}")

    async def _record_completed(self, image_id: int, processed: images.Processed) -> bool:
        """``mark_completed``, tried again while the database is away, for up to the job's
        time limit: the render is done, and keeping it beats doing it again. Past that (or
        once the worker is stopping) the failure goes to the retry as any other would.
        """
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self._limits.time_limit_s
        tries = 0
        while True:
            try:
                return await images.mark_completed(self._pool, image_id, processed)
            except Exception as exc:
                tries += 1
                delay_s = self._retry_policy.backoff_s(tries)
                if (
                    not database_unavailable(exc)
                    or self._stopping
                    or loop.time() + delay_s > give_up_at
                ):
                    raise
                log.warning(
                    "database unavailable: the finished render will be recorded later",
                    extra={"image_id": image_id, "delay_s": round(delay_s, 2)},
                )
            await asyncio.sleep(delay_s)

    async def _retry(
        self, message: AbstractIncomingMessage, job: ImageJob, exc: BaseException, attempts: int
    ) -> JobOutcome:
        error = f"{type(exc).__name__}: {exc}"
        if self._retry_policy.exhausted(attempts):
            log.warning(
                "job failed its last attempt",
                exc_info=exc,
                extra={"image_id": job.image_id, "attempt": attempts},
            )
            return await self._give_up(
                message, job, f"gave up after {attempts} attempts: {error}", attempts
            )
        delay_s = self._retry_policy.backoff_s(attempts)
        JOBS_RETRIED.labels(transient_reason(exc)).inc()
        log.warning(
            "job will be retried",
            # The row's error is for clients; the traceback (file paths included) is for us.
            exc_info=exc,
            extra={"image_id": job.image_id, "attempt": attempts, "delay_s": round(delay_s, 2)},
        )
        # Recording a retry or a give-up in the row is best effort while the database is
        # away; the message (with its attempt header) carries the state until it is back.
        with contextlib.suppress(*DATABASE_UNAVAILABLE):
            await images.mark_retrying(
                self._pool, job.image_id, error=f"attempt {attempts} failed: {error}"
            )
        await self._requeuer.retry_later(message, attempts=attempts, delay_s=delay_s)
        await message.ack()
        return JobOutcome(job.image_id, "retrying", error)

    async def _give_up(
        self, message: AbstractIncomingMessage, job: ImageJob, error: str, attempts: int
    ) -> JobOutcome:
        # Out of attempts: park the job for a person before the image is marked failed.
        await self._requeuer.dead_letter(message, reason=error, attempts=attempts)
        return await self._fail(
            message, job.image_id, error, reason="exhausted", database_may_be_down=True
        )

    def _targets(self, paths: JobPaths, record: ImageRecord) -> list[Target]:
        """The thumb at its key, then the upload's own renditions or the presets, named
        after the row's original."""
        specs = self._renditions.presets
        if record.requested_renditions is not None:
            try:
                specs = parse_renditions(record.requested_renditions)
            except InvalidRenditions as exc:
                raise PermanentImageError(f"invalid requested renditions: {exc}") from exc
        thumb = Target(self._renditions.thumb, paths.thumbnail_key)
        return [thumb, *(Target(spec, rendition_key(paths.original_key, spec)) for spec in specs)]

    async def _render(
        self, lane: Lane, image_id: int, original_key: str, targets: list[Target]
    ) -> ProcessResult:
        loop = asyncio.get_running_loop()
        render = partial(
            process_image,
            self._storage,
            original_key,
            targets,
            self._limits,
            self._progress.stage_callback(image_id),
        )
        hard_limit_s = self._limits.time_limit_s + HARD_DEADLINE_GRACE_S
        try:
            future = lane.submit(render, hard_deadline_s=loop.time() + hard_limit_s)
            return await asyncio.wait_for(asyncio.wrap_future(future, loop=loop), hard_limit_s)
        except BrokenProcessPool:
            # The lane's process died (OOM kill, segfault, SIGKILL), and ProcessPoolExecutor
            # never recovers from that. Only this job was in it: it is retried (transient)
            # once the lane has a new process; jobs in other lanes go on.
            lane.replace("a pool process died")
            raise
        except TimeoutError:
            # The pool process ignored SIGALRM (stuck inside C code): only killing it frees
            # the lane. It renders nothing else, so no other job pays for it.
            lane.replace("job over the hard deadline")
            raise TimeLimitExceeded(self._limits.time_limit_s) from None

    def pool_state(self) -> str:
        """For ``/readyz``: ``"ok"``, or why a pool process cannot render until it is replaced."""
        return self._lanes.state()

    async def _fail(
        self,
        message: AbstractIncomingMessage,
        image_id: int,
        error: str,
        *,
        reason: str,
        database_may_be_down: bool = False,
    ) -> JobOutcome:
        # Final: a retry would fail the same way, so record it and ack.
        with contextlib.suppress(*(DATABASE_UNAVAILABLE if database_may_be_down else ())):
            await images.mark_failed(self._pool, image_id, error=error)
        self._progress.failed(image_id, error)
        await message.ack()
        return JobOutcome(image_id, "failed", error, reason=reason)
