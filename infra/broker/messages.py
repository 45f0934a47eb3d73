"""Message contracts carried over RabbitMQ, each a frozen dataclass with ``encode``/``decode``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


class DecodeError(ValueError):
    """A message body that is not a valid instance of its contract."""


JOB_VERSION = 1


@dataclass(frozen=True, slots=True)
class ImageJob:
    """Process one stored original.

    The JSON keys are the original design's (``imageId``, ``originalPath``,
    ``thumbnailPath``), so producers and consumers written against it still interoperate;
    ``version`` is optional on decode for the same reason. Paths are storage keys,
    relative to ``STORAGE_DIR``.
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
        try:
            data: Any = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DecodeError(f"job body is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise DecodeError("job body is not a JSON object")
        version = data.get("version", JOB_VERSION)
        if version != JOB_VERSION:
            raise DecodeError(f"unsupported job version {version!r}")
        image_id = data.get("imageId")
        original_path = data.get("originalPath")
        thumbnail_path = data.get("thumbnailPath")
        # bool is an int subclass; a job for image `true` is not a job.
        if not isinstance(image_id, int) or isinstance(image_id, bool) or image_id <= 0:
            raise DecodeError("imageId must be a positive integer")
        if not isinstance(original_path, str) or not original_path:
            raise DecodeError("originalPath must be a non-empty string")
        if not isinstance(thumbnail_path, str) or not thumbnail_path:
            raise DecodeError("thumbnailPath must be a non-empty string")
        return cls(image_id, original_path, thumbnail_path)
