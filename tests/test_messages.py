"""The job contract stays readable by the original design's producers and consumers."""

from __future__ import annotations

import json

import pytest

from infra.broker.messages import MAX_IMAGE_ID, DecodeError, ImageEvent, ImageJob


def test_encode_uses_the_original_keys_plus_a_version() -> None:
    job = ImageJob(123, "originals/a.jpg", "thumbnails/a_thumb.jpg")
    assert json.loads(job.encode()) == {
        "version": 1,
        "imageId": 123,
        "originalPath": "originals/a.jpg",
        "thumbnailPath": "thumbnails/a_thumb.jpg",
    }
    assert ImageJob.decode(job.encode()) == job


def test_a_message_from_the_original_producer_decodes() -> None:
    legacy = b'{"imageId": 7, "originalPath": "/uploads/x.jpg", "thumbnailPath": "/t/x.jpg"}'
    assert ImageJob.decode(legacy) == ImageJob(7, "/uploads/x.jpg", "/t/x.jpg")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xff\xfe",
        b"not json",
        b"[1, 2]",
        b'{"imageId": "7", "originalPath": "a", "thumbnailPath": "b"}',
        b'{"imageId": true, "originalPath": "a", "thumbnailPath": "b"}',
        b'{"imageId": -1, "originalPath": "a", "thumbnailPath": "b"}',
        b'{"imageId": 1, "originalPath": "", "thumbnailPath": "b"}',
        b'{"imageId": 1, "originalPath": "a"}',
        b'{"version": 99, "imageId": 1, "originalPath": "a", "thumbnailPath": "b"}',
        # Over images.id's range: asyncpg would refuse it in the consumer, over and over
        b'{"imageId": 2147483648, "originalPath": "a", "thumbnailPath": "b"}',
        # int() refuses more than 4,300 digits with a plain ValueError
        b'{"imageId": ' + b"9" * 5000 + b', "originalPath": "a", "thumbnailPath": "b"}',
        # json.loads recurses once per level
        b'{"imageId": 1, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
)
def test_anything_else_is_one_decode_error(body: bytes) -> None:
    with pytest.raises(DecodeError):
        ImageJob.decode(body)


def test_the_largest_image_id_the_table_holds_decodes() -> None:
    body = b'{"imageId": 2147483647, "originalPath": "a", "thumbnailPath": "b"}'
    assert ImageJob.decode(body).image_id == MAX_IMAGE_ID == 2**31 - 1


def test_events_round_trip_and_refuse_what_they_do_not_know() -> None:
    event = ImageEvent(5, "processing", 0.5, "decoded")
    decoded = ImageEvent.decode(event.encode())
    assert (decoded.image_id, decoded.status, decoded.progress, decoded.stage) == (
        5, "processing", 0.5, "decoded",
    )  # fmt: skip
    assert decoded.occurred_at is not None
    deleted = ImageEvent.decode(ImageEvent.deleted(5).encode())
    assert (deleted.status, deleted.progress, deleted.stage) == ("deleted", 1.0, "deleted")
    for bad in (
        b"[]",
        b'{"version": 2}',
        event.encode().replace(b'"processing"', b'"exploded"'),
        event.encode().replace(b"0.5", b"1.5"),
        event.encode().replace(b"0.5", b"true"),
        event.encode().replace(b'"processing"', b"[]"),
        event.encode().replace(b'"imageId": 5', b'"imageId": 2147483648'),
        event.encode().replace(b'"imageId": 5', b'"imageId": ' + b"9" * 5000),
        event.encode().replace(b'"stage": "decoded"', b'"stage": ' + b"[" * 100_000),
    ):
        with pytest.raises(DecodeError):
            ImageEvent.decode(bad)
