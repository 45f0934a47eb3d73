"""Nothing stuck: images whose job was lost are queued again.

RabbitMQ redelivers a dead worker's unacked jobs by itself; this sweep is the backstop for
the rest. An image in processing counts as stuck (a worker wedged without dying, a job the
broker lost while its image was in processing) once it has been processing for
``stuck_after_s`` and past its claim's own deadline, which the worker wrote from its job
time limit. A pending image whose job has left the outbox counts as lost (a purged queue, a
broker whose volume was recreated) once nothing has happened to it for ``stuck_after_s``
(not uploaded, claimed, retried or queued again) and the job queue holds no waiting
message: while a backlog waits, its job may well be in it, and queueing a copy of every
waiting image's job once per ``stuck_after_s`` would grow the backlog by itself. Either gets
a new job through the outbox, in the transaction that marks the row; a job that was only
slow then runs twice at worst, and the worker's claim makes the second a no-op. Every
server instance sweeps; ``SKIP LOCKED`` keeps them from sweeping the same row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from infra.db import images, outbox
from server.background import BackgroundLoop
from server.outbox_relay import OutboxRelay

log = logging.getLogger(__name__)

_BATCH = 100


class StuckSweeper(BackgroundLoop):
    name = "stuck-sweeper"

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        relay: OutboxRelay,
        jobs_waiting: Callable[[], Awaitable[int]],
        stuck_after_s: float,
        interval_s: float,
    ) -> None:
        """``jobs_waiting``: how many messages wait in the job queue (asks the broker)."""
        self._pool = pool
        self._relay = relay
        self._jobs_waiting = jobs_waiting
        self._stuck_after_s = stuck_after_s
        self._interval_s = interval_s

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.sweep()
            except Exception as exc:
                log.warning("stuck-image sweep failed: %s", exc)

    async def sweep(self) -> list[int]:
        """Requeue stuck and lost images (row and job in one transaction); their ids."""
        look_for_lost = await self._job_queue_is_empty()
        async with self._pool.acquire() as connection, connection.transaction():
            released = await images.release_stuck(
                connection, stuck_after_s=self._stuck_after_s, limit=_BATCH
            )
            lost = (
                await images.requeue_lost_pending(
                    connection, stuck_after_s=self._stuck_after_s, limit=_BATCH
                )
                if look_for_lost
                else []
            )
            for record in (*released, *lost):
                await outbox.enqueue(connection, record.id)
        for record in released:
            log.warning("requeued a stuck image", extra={"image_id": record.id})
        for record in lost:
            log.warning(
                "requeued a pending image whose job was lost", extra={"image_id": record.id}
            )
        if released or lost:
            self._relay.kick()
        return [record.id for record in (*released, *lost)]

    async def _job_queue_is_empty(self) -> bool:
        try:
            return await self._jobs_waiting() == 0
        except Exception as exc:
            # A broker that does not answer may still hold the jobs: look next time.
            log.debug("could not read the job queue's depth: %s", exc)
            return False
