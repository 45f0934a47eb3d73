"""A job's paths against its image's row: which jobs are the image's, and which are refused.

The worker's handling of a refused job (dead-lettered, nothing touched, the queue moving
on) is in ``tests/test_bad_input.py``; a legacy producer's job end to end in
``tests/test_pipeline.py``.
"""

from __future__ import annotations

import asyncpg
import pytest

from infra.broker.messages import ImageJob
from infra.db import images
from infra.db.images import ImageRecord
from infra.renditions import job_for, thumbnail_key_for
from worker.job_paths import JobPaths, PathsRefused, job_paths

ORIGINAL = "originals/3f2a9c0d.jpg"
THUMBNAIL = "thumbnails/3f2a9c0d_thumb.jpg"


async def _row(
    connection: asyncpg.Connection, original: str, thumbnail: str | None = None
) -> ImageRecord:
    image_id = await connection.fetchval(
        "INSERT INTO images (filename, original_path, thumbnail_path) VALUES ('x.jpg', $1, $2)"
        " RETURNING id",
        original,
        thumbnail,
    )
    record = await images.get(connection, image_id)
    assert record is not None
    return record


async def _refused_fields(
    connection: asyncpg.Connection, job: ImageJob, record: ImageRecord
) -> list[str]:
    with pytest.raises(PathsRefused) as refused:
        await job_paths(connection, job, record)
    assert refused.value.image_id == record.id
    return refused.value.fields


@pytest.mark.parametrize(
    ("original_path", "thumbnail_path", "thumbnail_key"),
    [
        # The server's own job (uploads, retries, the stuck sweeper, the outbox)
        (ORIGINAL, THUMBNAIL, THUMBNAIL),
        # The original design's producer writes paths from the shared volume's root
        (f"/{ORIGINAL}", f"/{THUMBNAIL}", THUMBNAIL),
        # ... and may choose its thumbnail's name
        (ORIGINAL, "thumbnails/legacy-7_thumb.jpg", "thumbnails/legacy-7_thumb.jpg"),
        (ORIGINAL, "/thumbnails/cat.jpg", "thumbnails/cat.jpg"),
    ],
)
async def test_the_images_own_job_reads_the_rows_original(
    connection: asyncpg.Connection, original_path: str, thumbnail_path: str, thumbnail_key: str
) -> None:
    record = await _row(connection, ORIGINAL)
    job = ImageJob(record.id, original_path, thumbnail_path)
    assert await job_paths(connection, job, record) == JobPaths(ORIGINAL, thumbnail_key)
    # Checking changed nothing
    assert await images.get(connection, record.id) == record


@pytest.mark.parametrize(
    ("original_path", "thumbnail_path", "fields"),
    [
        # Another image's original, or a file the row never named
        ("originals/other.jpg", THUMBNAIL, ["originalPath"]),
        ("../../../etc/passwd", THUMBNAIL, ["originalPath"]),
        (f"originals/../{ORIGINAL}", THUMBNAIL, ["originalPath"]),
        # A thumbnail outside the thumbnail folder: another image's files, storage's own
        # folders, or outside storage altogether
        (ORIGINAL, "originals/other.jpg", ["thumbnailPath"]),
        (ORIGINAL, ORIGINAL, ["thumbnailPath"]),
        (ORIGINAL, "renditions/other/small.webp", ["thumbnailPath"]),
        (ORIGINAL, ".staging/x_thumb.jpg", ["thumbnailPath"]),
        (ORIGINAL, "../../outside_thumb.jpg", ["thumbnailPath"]),
        (ORIGINAL, "thumbnails/../../outside_thumb.jpg", ["thumbnailPath"]),
        (ORIGINAL, "/tmp/outside_thumb.jpg", ["thumbnailPath"]),
        (ORIGINAL, "thumbnails/deeper/x_thumb.jpg", ["thumbnailPath"]),
        (ORIGINAL, "thumbnails/", ["thumbnailPath"]),
        (ORIGINAL, "thumbnails/.hidden_thumb.jpg", ["thumbnailPath"]),
        (ORIGINAL, "thumbnails/x\x00_thumb.jpg", ["thumbnailPath"]),
        (ORIGINAL, "thumbnails/\ud800_thumb.jpg", ["thumbnailPath"]),
        (ORIGINAL, "thumbnails/" + "x" * 500, ["thumbnailPath"]),
        ("originals/other.jpg", "../outside.jpg", ["originalPath", "thumbnailPath"]),
    ],
)
async def test_paths_that_are_not_the_images_are_refused_naming_each_field(
    connection: asyncpg.Connection, original_path: str, thumbnail_path: str, fields: list[str]
) -> None:
    record = await _row(connection, ORIGINAL)
    job = ImageJob(record.id, original_path, thumbnail_path)
    assert await _refused_fields(connection, job, record) == fields
    assert await images.get(connection, record.id) == record


async def test_a_thumbnail_name_of_its_own_must_be_no_other_images_file(
    connection: asyncpg.Connection,
) -> None:
    # Given images whose files are in the thumbnail folder: one the server named, one a
    # legacy producer named, and one whose original is (oddly) there
    named = await _row(connection, "originals/aaaa.jpg")
    legacy = await _row(connection, "/uploads/cat.jpg", "/thumbnails/legacy-cat.jpg")
    odd = await _row(connection, "thumbnails/odd.jpg")
    # And a pending image whose job names a thumbnail of its own choosing
    record = await _row(connection, ORIGINAL)
    for key, holder in [
        ("thumbnails/aaaa_thumb.jpg", named),
        ("thumbnails/legacy-cat.jpg", legacy),
        ("/thumbnails/legacy-cat.jpg", legacy),
        ("thumbnails/cat_thumb.jpg", legacy),
        ("thumbnails/odd.jpg", odd),
    ]:
        # Then it is refused, saying whose file that is
        with pytest.raises(PathsRefused, match=f"is a file of image {holder.id}$"):
            await job_paths(connection, ImageJob(record.id, ORIGINAL, key), record)
    # While the images it belongs to may still be given their own thumbnails
    for key, holder in [
        ("thumbnails/aaaa_thumb.jpg", named),
        ("thumbnails/legacy-cat.jpg", legacy),
    ]:
        holder_job = ImageJob(holder.id, holder.original_path, key)
        assert (await job_paths(connection, holder_job, holder)).thumbnail_key == key
    # But never a thumbnail written over their own original
    odd_job = ImageJob(odd.id, odd.original_path, odd.original_path)
    assert await _refused_fields(connection, odd_job, odd) == ["thumbnailPath"]


async def test_a_row_that_records_its_thumbnail_takes_that_one_or_the_servers_name(
    connection: asyncpg.Connection,
) -> None:
    record = await _row(connection, ORIGINAL, "thumbnails/chosen.jpg")
    for key in ("thumbnails/chosen.jpg", THUMBNAIL):
        assert (await job_paths(connection, ImageJob(record.id, ORIGINAL, key), record)) == (
            JobPaths(ORIGINAL, key)
        )
    job = ImageJob(record.id, ORIGINAL, "thumbnails/another.jpg")
    assert await _refused_fields(connection, job, record) == ["thumbnailPath"]


async def test_a_refusal_says_what_was_sent_and_what_the_row_holds(
    connection: asyncpg.Connection,
) -> None:
    record = await _row(connection, ORIGINAL)
    job = ImageJob(record.id, "originals/" + "a" * 5000 + ".jpg", "../x.jpg")
    with pytest.raises(PathsRefused) as refused:
        await job_paths(connection, job, record)
    message = str(refused.value)
    assert message.startswith(f"paths disagree with image {record.id}'s row: originalPath ")
    assert f"is not the row's original_path {ORIGINAL!r}" in message
    assert f"thumbnailPath '../x.jpg' is not {THUMBNAIL!r}" in message
    # A forged path is as long as the message it came in; what is shown is not
    assert "(5014 characters)" in message
    assert len(message) < 1000


@pytest.mark.parametrize(
    "original",
    [
        "originals/3f2a9c0d.jpg",
        "uploads/cat",
        "/uploads/cat.tar.gz",
        "a/b.c/d.e.f",
        "plain",
        "trailing/.hidden.jpg",
        "under_score/100%_done.jpg",
    ],
)
async def test_the_database_names_thumbnails_as_the_server_does(
    connection: asyncpg.Connection, original: str
) -> None:
    # other_image_with_key spells thumbnail_key_for in SQL: the two must agree.
    holder = await _row(connection, original)
    key = thumbnail_key_for(original)
    assert await images.other_image_with_key(connection, key, image_id=holder.id + 1) == holder.id
    assert await images.other_image_with_key(connection, key, image_id=holder.id) is None
    assert job_for(holder.id, original).thumbnail_path == key
