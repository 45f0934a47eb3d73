"""Where a job is published: committed outbox entries go to RabbitMQ, then leave the table.

Every server instance runs a relay. An upload hands its committed entry straight to its
own server's relay, which publishes it from memory: reading it back first would put a
BEGIN and a SELECT, two database round trips, between the upload and a worker's start.
Everything else (retries, the stuck sweeper, replays, and uploads whose server did not
publish them within ``UPLOADER_PUBLISHES_WITHIN_S``) is found by reading the table, where
entries are locked with ``FOR UPDATE SKIP LOCKED``, so instances share the work without
publishing an entry twice at the same moment. An entry is deleted only after the broker
confirmed its job. A crash between the confirm and the delete publishes the job again
later, which the worker's claim makes harmless.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from infra.broker.events import EventPublisher
from infra.broker.messages import ImageEvent
from infra.db import outbox
from infra.db.outbox import OutboxEntry
from server.background import BackgroundLoop, RetryLog
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
        self._handed_over: list[OutboxEntry] = []
        self._poll_due = True
        self._retries = RetryLog(
            log,
            failed="outbox relay failed (%s); retrying",
            still_failing="outbox relay still failing (%s)",
        )

    def hand_over(self, entry: OutboxEntry) -> None:
        """An upload's entry, just committed: publish it now, from memory."""
        self._handed_over.append(entry)
        self._wakeup.set()

    def kick(self) -> None:
        """Something was committed that only the table holds: look now, not at the next poll."""
        self._poll_due = True
        self._wakeup.set()

    async def run(self) -> None:
        delay_s = _RETRY_MIN_S
        while True:
            # Cleared before looking, not after waiting: a kick or hand-over that lands
            # while a batch is being published is then seen at once instead of being lost.
            self._wakeup.clear()
            try:
                await self.publish_handed_over()
                if self._poll_due:
                    self._poll_due = False
                    if await self.publish_pending() == _BATCH_SIZE:
                        self._poll_due = True  # more may be waiting
            except Exception as exc:
                # Broker or database away: entries stay committed; try again with backoff.
                self._retries.failure(exc)
                self._poll_due = True
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, _RETRY_MAX_S)
                continue
            delay_s = _RETRY_MIN_S
            self._retries.success("outbox relay publishing again")
            if self._poll_due or self._handed_over:
                continue
            try:
                await asyncio.wait_for(self._wakeup.wait(), self._idle_poll_s)
            except TimeoutError:
                self._poll_due = True

    async def publish_handed_over(self) -> int:
        """Publish the entries handed over since the last call; the number published.

        Those a failure leaves unpublished are forgotten here but stay in the table, where
        a poll finds them once ``UPLOADER_PUBLISHES_WITHIN_S`` has passed.
        """
        entries, self._handed_over = self._handed_over, []
        published, failure = await self._publish(entries)
        if published:
            await outbox.delete(self._pool, published)
        if failure is not None:
            raise failure
        return len(published)

    async def publish_pending(self) -> int:
        """Publish up to one batch of due entries read from the table; the number published."""
        async with self._pool.acquire() as connection, connection.transaction():
            entries = await outbox.claim_batch(connection, limit=_BATCH_SIZE)
            published, failure = await self._publish(entries)
            # Commit what the broker confirmed even when a later publish failed.
            if published:
                await outbox.delete(connection, published)
        if failure is not None:
            raise failure
        return len(published)

    async def _publish(self, entries: list[OutboxEntry]) -> tuple[list[int], Exception | None]:
        """Publish in order until one fails: (ids of those the broker confirmed, the failure)."""
        published: list[int] = []
        for entry in entries:
            pending = ImageEvent(entry.image_id, "pending", 0.0, "queued")
            try:
                # PENDING before the job, since a worker's PROCESSING may follow the job at
                # once, but without waiting for its confirm: both go out on one channel,
                # whose lock the first publish takes before the second starts, and the
                # broker keeps a channel's order. One round trip fewer before a worker can
                # start. The job is passed on as committed with the row.
                await asyncio.gather(
                    self._events.publish(pending),
                    self._publisher.publish(entry.image_id, entry.job),
                )
            except Exception as exc:
                return published, exc
            published.append(entry.id)
        return published, None
