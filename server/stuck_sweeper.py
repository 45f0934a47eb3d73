"""Nothing stuck: images left in processing by a vanished worker are queued again.

RabbitMQ redelivers a dead worker's unacked jobs by itself; this sweep is the backstop for
the rest (a worker wedged without dying, a job the broker lost while its image was in
processing). Jobs of images still pending are the outbox's and the queue's. An image counts
as stuck once it has been in processing for ``stuck_after_s`` — longer than any job may
run. Every server instance sweeps; ``SKIP LOCKED`` keeps them from sweeping the same row.
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
        """Requeue stuck images (row and job in one transaction); their ids."""
        async with self._pool.acquire() as connection, connection.transaction():
            released = await images.release_stuck(
                connection, stuck_after_s=self._stuck_after_s, limit=_BATCH
            )
            for record in released:
                await outbox.enqueue(connection, record.id)
        for record in released:
            log.warning("requeued a stuck image", extra={"image_id": record.id})
        if released:
            self._relay.kick()
        return [record.id for record in released]
