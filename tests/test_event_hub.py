"""The in-process fan-out: bounded per subscriber, latest event per image, never blocking."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY

from infra.broker.messages import ImageEvent
from server.events.hub import EventHub, Resync


def _event(image_id: int, status: str = "processing", progress: float = 0.5) -> ImageEvent:
    return ImageEvent(image_id, status, progress, "decoded")


def _dropped_total() -> float:
    return REGISTRY.get_sample_value("imagequeue_events_dropped_total") or 0.0


async def test_a_subscriber_that_never_reads_holds_at_most_its_bound() -> None:
    hub = EventHub(max_buffered_images=3)
    dropped_before = _dropped_total()
    with hub.subscribe() as stalled, hub.subscribe() as reader:
        for image_id in range(1, 101):
            hub.publish(_event(image_id))
            assert await reader.next() == _event(image_id)
        assert stalled.dropped == 97
        # which operators see in the server's metrics
        assert _dropped_total() - dropped_before == 97
        # The three newest images remain, oldest first.
        assert [await stalled.next() for _ in range(3)] == [_event(98), _event(99), _event(100)]


async def test_a_newer_event_replaces_the_waiting_one_for_the_same_image() -> None:
    hub = EventHub(max_buffered_images=10)
    with hub.subscribe() as subscriber:
        hub.publish(_event(1, "processing", 0.5))
        hub.publish(_event(2, "processing", 0.5))
        hub.publish(_event(1, "completed", 1.0))
        assert await subscriber.next() == _event(2, "processing", 0.5)
        assert await subscriber.next() == _event(1, "completed", 1.0)
        assert subscriber.dropped == 0


async def test_subscribers_only_get_their_images_and_leave_cleanly() -> None:
    hub = EventHub()
    with hub.subscribe(frozenset({7})) as subscriber:
        assert hub.subscriber_count == 1
        hub.publish(_event(8))
        hub.publish(_event(7))
        assert await subscriber.next() == _event(7)
        since = datetime(2026, 1, 1, tzinfo=UTC)
        hub.resync_all(since)
        hub.resync_all(since + timedelta(seconds=1))
        assert await subscriber.next() == Resync(since)
        waiting = asyncio.create_task(subscriber.next())
        await asyncio.sleep(0)
        assert not waiting.done()
        waiting.cancel()
    assert hub.subscriber_count == 0


async def test_overflow_drops_progress_before_final_events() -> None:
    hub = EventHub(max_buffered_images=2)
    with hub.subscribe() as stalled:
        hub.publish(_event(1, "completed", 1.0))
        hub.publish(_event(2, "processing", 0.5))
        hub.publish(_event(3, "completed", 1.0))
        assert [await stalled.next() for _ in range(2)] == [
            _event(1, "completed", 1.0),
            _event(3, "completed", 1.0),
        ]


async def test_nothing_follows_a_deleted_event() -> None:
    hub = EventHub(max_buffered_images=10)
    with hub.subscribe() as dashboard, hub.subscribe(frozenset({1})) as watcher:
        # Given an image deleted while a worker was rendering it
        hub.publish(_event(1, "processing", 0.5))
        hub.publish(ImageEvent.deleted(1))
        # When the worker, not knowing, reports another stage and then fails to record it
        hub.publish(_event(1, "processing", 0.75))
        hub.publish(ImageEvent(1, "failed", 1.0, "failed", "gone"))
        hub.publish(_event(2))
        # Then the waiting DELETED is not replaced, and neither straggler is delivered
        assert await dashboard.next() == ImageEvent.deleted(1)
        assert await dashboard.next() == _event(2)
        assert await watcher.next() == ImageEvent.deleted(1)
        assert dashboard.dropped == watcher.dropped == 0
