"""Nothing stuck: images whose job was lost are queued again.

RabbitMQ redelivers a dead worker's unacked jobs by itself; this sweep is the backstop for
the rest. An image in processing counts as stuck (a worker wedged without dying, a job the
broker lost while its image was in processing) once it has been processing for
``stuck_after_s`` and past its claim's own deadline, which the worker wrote from its job
time limit. A pending image whose job has left the outbox counts as lost (a purged queue, a
broker whose volume was recreated) once nothing has happened to it for ``stuck_after_s``:
not uploaded, claimed, retried or queued again. Either gets a new job through the outbox, in
the transaction that marks the row. A job that was only slow (a long queue) then runs twice
at worst, and the worker's claim makes the second a no-op; ``stuck_after_s`` is minutes, so
a long queue gets at most one extra message per waiting image per ``stuck_after_s``. Every
server instance sweeps; ``SKIP LOCKED`` keeps them from sweeping the same row.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from infra.db import images, outbox
from server.background import BackgroundLoop
from server.outbox_relay import OutboxRelay

log = logging.getLogger(__name__)

_BATCH = 100


class StuckSweeper(BackgroundLoop):
    name = "stuck-sweeper"

    def __init__(
        self, *, pool: asyncpg.Pool, relay: OutboxRelay, stuck_after_s: float, interval_s: float
    ) -> None:
        self._pool = pool
        self._relay = relay
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
        async with self._pool.acquire() as connection, connection.transaction():
            released = await images.release_stuck(
                connection, stuck_after_s=self._stuck_after_s, limit=_BATCH
            )
            lost = await images.requeue_lost_pending(
                connection, stuck_after_s=self._stuck_after_s, limit=_BATCH
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
