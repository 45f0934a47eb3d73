"""Where a job is published: committed outbox entries go to RabbitMQ, then leave the table.

Every server instance runs a relay. Entries are locked with ``FOR UPDATE SKIP LOCKED``, so
instances share the work without publishing an entry twice at the same moment; an entry
is deleted only after the broker confirmed its job. A crash between the confirm and the
delete publishes the job again later, which the worker's claim makes harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from infra.broker.events import EventPublisher
from infra.broker.messages import ImageEvent
from infra.db import outbox
from server.background import BackgroundLoop
from server.job_publisher import JobPublisher

log = logging.getLogger(__name__)

_BATCH_SIZE = 100
_RETRY_MIN_S = 0.2
_RETRY_MAX_S = 5.0


class OutboxRelay(BackgroundLoop):
    name = "outbox-relay"

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        publisher: JobPublisher,
        events: EventPublisher,
        idle_poll_s: float,
    ) -> None:
        self._pool = pool
        self._publisher = publisher
        self._events = events
        self._idle_poll_s = idle_poll_s
        self._wakeup = asyncio.Event()

    def kick(self) -> None:
        """Something was committed: publish it now rather than at the next poll."""
        self._wakeup.set()

    async def run(self) -> None:
        delay_s = _RETRY_MIN_S
        while True:
            # Cleared before looking, not after waiting: a kick that lands while a batch
            # is being published then starts the next batch at once instead of being lost.
            self._wakeup.clear()
            try:
                published = await self.publish_pending()
            except Exception as exc:
                # Broker or database away: entries stay committed; try again with backoff.
                log.warning("outbox relay failed (%s); retrying in %.1f s", exc, delay_s)
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, _RETRY_MAX_S)
                continue
            delay_s = _RETRY_MIN_S
            if published == _BATCH_SIZE:
                continue  # more may be waiting
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._idle_poll_s)

    async def publish_pending(self) -> int:
        """Publish up to one batch; the number published."""
        failure: Exception | None = None
        published: list[int] = []
        async with self._pool.acquire() as connection, connection.transaction():
            for entry in await outbox.claim_batch(connection, limit=_BATCH_SIZE):
                pending = ImageEvent(entry.image_id, "pending", 0.0, "queued")
                try:
                    # PENDING before the job, since a worker's PROCESSING may follow the job
                    # at once, but without waiting for its confirm: both go out on one
                    # channel, whose lock the first publish takes before the second starts,
                    # and the broker keeps a channel's order. One round trip fewer before
                    # a worker can start. The job is passed on as committed with the row.
                    await asyncio.gather(
                        self._events.publish(pending),
                        self._publisher.publish(entry.image_id, entry.job),
                    )
                except Exception as exc:
                    failure = exc
                    break
                published.append(entry.id)
            # Commit what the broker confirmed even when a later publish failed.
            if published:
                await outbox.delete(connection, published)
        if failure is not None:
            raise failure
        return len(published)
