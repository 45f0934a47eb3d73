"""In-process fan-out of image events to subscribers, with bounded buffers.

Slow-subscriber policy: each subscriber buffers at most one event per image (a newer
event for the same image replaces the one waiting, so a slow reader sees the latest
state rather than every step) and at most ``max_buffered_images`` images; past that the
oldest waiting progress event is dropped (a final COMPLETED/FAILED/DELETED only when
nothing else is left to drop) and counted (``imagequeue_events_dropped_total``).
Publishing never waits for a subscriber.

Nothing follows a DELETED: a worker that was processing the image when it was deleted may
still report a stage or a failure afterwards, and the hub drops those (ids are never
reused), so a slow reader's waiting DELETED is not replaced by a stale PROCESSING.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from infra.broker.messages import FINAL_STATUSES, ImageEvent
from infra.metrics import EVENTS_DELIVERED, EVENTS_DROPPED, SUBSCRIPTIONS_ACTIVE

log = logging.getLogger(__name__)

_DELETED_MEMORY = 10_000
"""Recently deleted ids remembered; a straggler comes at most a job's time limit later."""


@dataclass(frozen=True, slots=True)
class Resync:
    """The listener reconnected: events since ``since`` may be lost, re-read the database."""

    since: datetime


class Subscriber:
    def __init__(self, image_ids: frozenset[int] | None, max_buffered_images: int) -> None:
        self.image_ids = image_ids
        self._max_buffered_images = max_buffered_images
        self._waiting: OrderedDict[int, ImageEvent] = OrderedDict()
        self._resync: Resync | None = None
        self._wakeup = asyncio.Event()
        self.dropped = 0

    def wants(self, event: ImageEvent) -> bool:
        return self.image_ids is None or event.image_id in self.image_ids

    def offer(self, event: ImageEvent) -> None:
        if event.image_id in self._waiting:
            del self._waiting[event.image_id]
        elif len(self._waiting) >= self._max_buffered_images:
            self._drop_one()
        self._waiting[event.image_id] = event
        self._wakeup.set()

    def _drop_one(self) -> None:
        # A final event is what a slow dashboard most needs; progress can be skipped.
        victim = next(
            (image_id for image_id, e in self._waiting.items() if e.status not in FINAL_STATUSES),
            next(iter(self._waiting)),
        )
        del self._waiting[victim]
        self.dropped += 1
        EVENTS_DROPPED.inc()

    def request_resync(self, since: datetime) -> None:
        if self._resync is None or since < self._resync.since:
            self._resync = Resync(since)
        self._wakeup.set()

    async def next(self) -> ImageEvent | Resync:
        while not self._waiting and self._resync is None:
            self._wakeup.clear()
            await self._wakeup.wait()
        if self._resync is not None:
            resync, self._resync = self._resync, None
            return resync
        _, event = self._waiting.popitem(last=False)
        return event


class EventHub:
    def __init__(self, *, max_buffered_images: int = 1000) -> None:
        self._subscribers: set[Subscriber] = set()
        self._max_buffered_images = max_buffered_images
        self._deleted: OrderedDict[int, None] = OrderedDict()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    @contextmanager
    def subscribe(self, image_ids: frozenset[int] | None = None) -> Iterator[Subscriber]:
        """A subscriber for the ``with`` block; leaving it, however, unsubscribes."""
        subscriber = Subscriber(image_ids, self._max_buffered_images)
        self._subscribers.add(subscriber)
        SUBSCRIPTIONS_ACTIVE.inc()
        try:
            yield subscriber
        finally:
            self._subscribers.discard(subscriber)
            SUBSCRIPTIONS_ACTIVE.dec()

    def publish(self, event: ImageEvent) -> None:
        if event.image_id in self._deleted:
            return
        if event.status == "deleted":
            self._deleted[event.image_id] = None
            if len(self._deleted) > _DELETED_MEMORY:
                self._deleted.popitem(last=False)
        delivered = 0
        for subscriber in self._subscribers:
            if subscriber.wants(event):
                subscriber.offer(event)
                delivered += 1
        EVENTS_DELIVERED.inc(delivered)

    def resync_all(self, since: datetime) -> None:
        for subscriber in self._subscribers:
            subscriber.request_resync(since)
