"""Message contracts carried over RabbitMQ, each a frozen dataclass with ``encode``/``decode``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


class DecodeError(ValueError):
    """A message body that is not a valid instance of its contract."""


MAX_IMAGE_ID = 2**31 - 1
"""``images.id`` is a PostgreSQL ``integer``: a larger id fails in asyncpg, not here."""


def _json_object(body: bytes, kind: str) -> dict[str, Any]:
    try:
        data: Any = json.loads(body)
    # ValueError covers more than malformed JSON: an integer of over 4,300 digits is refused
    # by int() itself. RecursionError is deeply nested arrays or objects. Either would escape
    # as a bug and the consumer would requeue the body forever.
    except (ValueError, RecursionError) as exc:
        raise DecodeError(f"{kind} body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise DecodeError(f"{kind} body is not a JSON object")
    return data


def _image_id(data: dict[str, Any]) -> int:
    image_id = data.get("imageId")
    # bool is an int subclass; a job for image `true` is not a job.
    if (
        not isinstance(image_id, int)
        or isinstance(image_id, bool)
        or not 1 <= image_id <= MAX_IMAGE_ID
    ):
        raise DecodeError(f"imageId must be an integer from 1 to {MAX_IMAGE_ID}")
    return image_id


JOB_VERSION = 1


@dataclass(frozen=True, slots=True)
class ImageJob:
    """Process one stored original.

    The JSON keys are the original design's (``imageId``, ``originalPath``,
    ``thumbnailPath``), so producers and consumers written against it still interoperate;
    ``version`` is optional on decode for the same reason. Paths are storage keys,
    relative to ``STORAGE_DIR``. Decoding only checks their types: anyone who may publish
    can write a job, so the worker checks its paths against the image's row
    (``worker/job_paths.py``) and follows the row.
    """

    image_id: int
    original_path: str
    thumbnail_path: str

    def encode(self) -> bytes:
        return json.dumps(
            {
                "version": JOB_VERSION,
                "imageId": self.image_id,
                "originalPath": self.original_path,
                "thumbnailPath": self.thumbnail_path,
            }
        ).encode()

    @classmethod
    def decode(cls, body: bytes) -> ImageJob:
        data = _json_object(body, "job")
        version = data.get("version", JOB_VERSION)
        if version != JOB_VERSION:
            raise DecodeError(f"unsupported job version {version!r}")
        image_id = _image_id(data)
        original_path = data.get("originalPath")
        thumbnail_path = data.get("thumbnailPath")
        if not isinstance(original_path, str) or not original_path:
            raise DecodeError("originalPath must be a non-empty string")
        if not isinstance(thumbnail_path, str) or not thumbnail_path:
            raise DecodeError("thumbnailPath must be a non-empty string")
        return cls(image_id, original_path, thumbnail_path)


EVENT_VERSION = 1
_EVENT_STATUSES = frozenset({"pending", "processing", "completed", "failed", "deleted"})


FINAL_STATUSES = frozenset({"completed", "failed", "deleted"})
"""Event statuses after which an image sends no more events.

``deleted`` ends an image whatever came before it; no row holds it (the row is gone).
"""


@dataclass(frozen=True, slots=True)
class ImageEvent:
    """A change in an image's processing, published to the events exchange.

    ``progress`` runs from 0 to 1 while processing; ``stage`` names the step just
    finished (``queued``, ``started``, ``decoded``, ``rendition:<name>``, ``done``).
    """

    image_id: int
    status: str
    progress: float
    stage: str | None = None
    error: str | None = None
    occurred_at: datetime | None = None

    @classmethod
    def deleted(cls, image_id: int, occurred_at: datetime | None = None) -> ImageEvent:
        """The image's row is gone; published by the server that deleted it, or read from
        its tombstone (``occurred_at``: when it was deleted)."""
        return cls(image_id, "deleted", 1.0, "deleted", occurred_at=occurred_at)

    def encode(self) -> bytes:
        occurred_at = self.occurred_at or datetime.now(UTC)
        return json.dumps(
            {
                "version": EVENT_VERSION,
                "imageId": self.image_id,
                "status": self.status,
                "progress": self.progress,
                "stage": self.stage,
                "error": self.error,
                "occurredAt": occurred_at.isoformat(),
            }
        ).encode()

    @classmethod
    def decode(cls, body: bytes) -> ImageEvent:
        data = _json_object(body, "event")
        if data.get("version") != EVENT_VERSION:
            raise DecodeError(f"unsupported event version {data.get('version')!r}")
        image_id, status, progress = _image_id(data), data.get("status"), data.get("progress")
        if not isinstance(status, str) or status not in _EVENT_STATUSES:
            raise DecodeError(f"unknown status {status!r}")
        if (
            not isinstance(progress, int | float)
            or isinstance(progress, bool)
            or not 0 <= progress <= 1
        ):
            raise DecodeError("progress must be a number from 0 to 1")
        stage, error = data.get("stage"), data.get("error")
        if stage is not None and not isinstance(stage, str):
            raise DecodeError("stage must be a string")
        if error is not None and not isinstance(error, str):
            raise DecodeError("error must be a string")
        try:
            occurred_at = datetime.fromisoformat(data["occurredAt"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DecodeError("occurredAt must be an ISO 8601 timestamp") from exc
        return cls(image_id, status, float(progress), stage, error, occurred_at)
