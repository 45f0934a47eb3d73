"""Where progress is reported: every status change becomes an event, and so do processing
stages, at most one per ``PROGRESS_INTERVAL_S`` per image.

Pillow runs in pool processes, so stage reports travel from there over a
``multiprocessing`` queue to a reader thread, which hands them to the event loop. Events
are published in order by one task, off the job's critical path; a report that arrives
after its image's final event is dropped, so listeners never see progress after the end.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections import OrderedDict
from multiprocessing.context import BaseContext
from multiprocessing.queues import Queue
from typing import Any

from infra.broker.events import EventPublisher
from infra.broker.messages import ImageEvent
from infra.logs import LogFormat, configure_logging
from worker.processing import StageCallback

log = logging.getLogger(__name__)


_child_queue: Queue[tuple[int, str, float]] | None = None
_FINISHED_MEMORY = 10_000
_STOP = (0, "", 0.0)
_ORPHAN_CHECK_INTERVAL_S = 0.5


def init_pool_process(
    queue: Queue[tuple[int, str, float]],
    worker_pid: int,
    log_level: str,
    log_format: LogFormat,
) -> None:
    """ProcessPoolExecutor initializer: where to send stage reports and log lines, and
    when to give up.

    A spawned process starts with logging unconfigured, which would drop what Pillow work
    logs; configured as the worker is, its lines join the worker's output. A worker killed
    with SIGKILL cannot stop its pool; without the watchdog its pool processes would live
    on as orphans. Ctrl-C in a terminal sends SIGINT to the whole process group: the worker
    stops by it, draining its jobs, so the pool processes ignore it rather than abandon
    the jobs they render with a KeyboardInterrupt.
    """
    global _child_queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _child_queue = queue
    configure_logging(level=log_level, log_format=log_format)
    threading.Thread(target=_exit_when_orphaned, args=(worker_pid,), daemon=True).start()


def _exit_when_orphaned(worker_pid: int) -> None:
    while os.getppid() == worker_pid:
        time.sleep(_ORPHAN_CHECK_INTERVAL_S)
    os._exit(0)


class _StageReports:
    """Called by a pool process after each stage of one job; sent over at most every
    ``min_interval_s``, counted from the job's start.

    A 2-megapixel photo renders in ~0.2 s: four stage events for it would cost the worker,
    the broker, every server and every watcher more than they tell anyone
    (docs/benchmarks.md, pipeline). Large images still report as they go.
    """

    def __init__(self, image_id: int, min_interval_s: float) -> None:
        self._image_id = image_id
        self._min_interval_s = min_interval_s
        # CLOCK_MONOTONIC is system-wide, so the pool process can continue this count.
        self._last_report_s = time.monotonic()

    def __call__(self, stage: str, progress: float) -> None:
        now_s = time.monotonic()
        if now_s - self._last_report_s < self._min_interval_s or _child_queue is None:
            return
        self._last_report_s = now_s
        _child_queue.put_nowait((self._image_id, stage, progress))


class ProgressReporter:
    def __init__(
        self, publisher: EventPublisher, mp_context: BaseContext, *, stage_interval_s: float
    ) -> None:
        self._publisher = publisher
        self._stage_interval_s = stage_interval_s
        self._outbox: asyncio.Queue[ImageEvent | None] = asyncio.Queue()
        self._finished: OrderedDict[int, None] = OrderedDict()
        self.pool_queue: Queue[tuple[int, str, float]] = mp_context.Queue()
        self._loop = asyncio.get_running_loop()
        self._sender = asyncio.create_task(self._send_in_order(), name="progress-sender")
        self._reader = threading.Thread(target=self._read_pool_reports, daemon=True)
        self._reader.start()

    def stage_callback(self, image_id: int) -> StageCallback:
        """A picklable callback for the pool process that renders ``image_id``."""
        return _StageReports(image_id, self._stage_interval_s)

    def started(self, image_id: int) -> None:
        self._finished.pop(image_id, None)
        self._enqueue(ImageEvent(image_id, "processing", 0.0, "started"))

    def stage(self, image_id: int, stage: str, progress: float) -> None:
        if image_id not in self._finished:
            self._enqueue(ImageEvent(image_id, "processing", progress, stage))

    def completed(self, image_id: int) -> None:
        self._finish(ImageEvent(image_id, "completed", 1.0, "done"))

    def failed(self, image_id: int, error: str) -> None:
        self._finish(ImageEvent(image_id, "failed", 1.0, "failed", error))

    def _finish(self, event: ImageEvent) -> None:
        self._finished[event.image_id] = None
        while len(self._finished) > _FINISHED_MEMORY:
            self._finished.popitem(last=False)
        self._enqueue(event)

    def _enqueue(self, event: ImageEvent) -> None:
        self._outbox.put_nowait(event)

    async def _send_in_order(self) -> None:
        while (event := await self._outbox.get()) is not None:
            try:
                await self._publisher.publish(event)
            except Exception:
                # Listeners re-read the database when their connection comes back, so a
                # lost event delays an update but never loses the final state.
                log.warning("could not publish event image_id=%d %s", event.image_id, event.status)

    def _read_pool_reports(self) -> None:
        while True:
            report: Any = self.pool_queue.get()
            if report == _STOP:
                return
            image_id, stage, progress = report
            self._loop.call_soon_threadsafe(self.stage, image_id, stage, progress)

    async def close(self, timeout_s: float = 5.0) -> None:
        """Send what is queued (within ``timeout_s``), then stop."""
        self.pool_queue.put(_STOP)
        self._outbox.put_nowait(None)
        try:
            await asyncio.wait_for(asyncio.shield(self._sender), timeout_s)
        except TimeoutError:
            self._sender.cancel()
        await asyncio.to_thread(self._reader.join, timeout_s)
        self.pool_queue.close()
