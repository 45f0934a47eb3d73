"""Live updates: the current state from the database first, then events as they happen."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing

import strawberry
from strawberry.types import Info

from infra.broker.messages import FINAL_STATUSES, ImageEvent
from infra.db.images import ImageRecord, parse_image_id
from server.events.hub import Resync
from server.graphql.context import Context
from server.graphql.errors import UserFacingError
from server.graphql.types import ImageUpdate

# DELETED last: it ends an image whatever state it was in, even a final one.
_RANK = {"pending": 0, "processing": 1, "completed": 2, "failed": 2, "deleted": 3}
_RESYNC_MAX_IMAGES = 1000


def event_from_record(record: ImageRecord) -> ImageEvent:
    status = record.status.value
    stage = {"pending": "queued", "processing": "started", "completed": "done"}.get(status, status)
    return ImageEvent(
        record.id,
        status,
        1.0 if status in FINAL_STATUSES else 0.0,
        stage,
        record.error,
        record.processed_at or record.started_at or record.created_at,
    )


class _Watch:
    """Forwards only events that move an image forward, so the stream never goes back."""

    def __init__(self, image_ids: set[int]) -> None:
        self._last: dict[int, tuple[int, float]] = {}
        self._open = set(image_ids)

    @property
    def done(self) -> bool:
        return not self._open

    @property
    def open_ids(self) -> list[int]:
        return sorted(self._open)

    def accept(self, event: ImageEvent) -> bool:
        if event.image_id not in self._open:
            return False
        position = (_RANK[event.status], event.progress)
        last = self._last.get(event.image_id)
        if last is not None and position <= last:
            return False
        self._last[event.image_id] = position
        if event.status in FINAL_STATUSES:
            self._open.discard(event.image_id)
        return True


async def watch_all(
    context: Context,
) -> AsyncGenerator[tuple[ImageEvent, ImageRecord | None], None]:
    """Every image's events, forever; after a listener reconnect, what changed meanwhile."""
    with context.hub.subscribe() as subscriber:
        while True:
            item = await subscriber.next()
            if isinstance(item, Resync):
                # The changes we may have missed, as their current state, and the deletes,
                # from their tombstones.
                changed = await context.service.changed_since(item.since, limit=_RESYNC_MAX_IMAGES)
                for record in changed:
                    yield event_from_record(record), record
                deleted = await context.service.deleted_since(item.since, limit=_RESYNC_MAX_IMAGES)
                for image_id, deleted_at in deleted:
                    yield ImageEvent.deleted(image_id, deleted_at), None
            else:
                yield item, None


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description=(
            "Status and progress of images. With `ids`: the current state of each first, "
            "then every change, completing when all are COMPLETED, FAILED or DELETED. "
            "Without `ids`: every image's events, DELETED included, never completing."
        )
    )
    async def image_updates(
        self, info: Info[Context, None], ids: list[strawberry.ID] | None = None
    ) -> AsyncGenerator[ImageUpdate, None]:
        context = info.context
        if ids is None:
            async with aclosing(watch_all(context)) as updates:
                async for event, record in updates:
                    yield ImageUpdate.from_event(event, record)
            return

        image_ids = _parse_ids(ids or [], context.max_subscription_ids)
        # Subscribe before reading the database, so nothing between the two is missed.
        with context.hub.subscribe(frozenset(image_ids)) as subscriber:
            records = await context.service.get_many(sorted(image_ids))
            missing = image_ids - records.keys()
            # A deleted image is a final state, not a mistake: a client that subscribes
            # again after a reconnect may name one deleted meanwhile.
            deleted = await context.service.deleted_among(sorted(missing)) if missing else {}
            if missing - deleted.keys():
                unknown = ", ".join(map(str, sorted(missing - deleted.keys())))
                raise UserFacingError(f"no image with id {unknown}")
            watch = _Watch(image_ids)
            for image_id in sorted(image_ids):
                record = records.get(image_id)
                event = (
                    event_from_record(record)
                    if record
                    else ImageEvent.deleted(image_id, deleted[image_id])
                )
                if watch.accept(event):
                    yield ImageUpdate.from_event(event, record)
            while not watch.done:
                item = await subscriber.next()
                changes: list[tuple[ImageEvent, ImageRecord | None]]
                if isinstance(item, Resync):
                    # The listener was away: a DELETED event may be lost with its queue,
                    # so an id whose row is gone is taken as deleted, when its tombstone
                    # says (no occurredAt past the tombstones' retention).
                    fresh = await context.service.get_many(watch.open_ids)
                    gone = [image_id for image_id in watch.open_ids if image_id not in fresh]
                    tombstones = await context.service.deleted_among(gone) if gone else {}
                    changes = [
                        (event_from_record(fresh[image_id]), fresh[image_id])
                        if image_id in fresh
                        else (ImageEvent.deleted(image_id, tombstones.get(image_id)), None)
                        for image_id in watch.open_ids
                    ]
                else:
                    changes = [(item, None)]
                for event, record in changes:
                    if watch.accept(event):
                        # The row just read, so `image` is not read again.
                        yield ImageUpdate.from_event(event, record)


def _parse_ids(raw_ids: list[strawberry.ID], max_ids: int) -> set[int]:
    if not raw_ids:
        raise UserFacingError("ids must name at least one image (omit it to watch all)")
    if len(raw_ids) > max_ids:
        raise UserFacingError(f"at most {max_ids} ids per subscription")
    parsed = set()
    for raw in raw_ids:
        image_id = parse_image_id(raw)
        if image_id is None:
            raise UserFacingError(f"no image with id {raw}")
        parsed.add(image_id)
    return parsed
