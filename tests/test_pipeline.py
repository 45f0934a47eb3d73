"""The end-to-end pipeline through real processes: upload, queue, worker, thumbnail."""

from __future__ import annotations

import asyncio
import json
import re

import asyncpg
import httpx

from infra.broker.messages import ImageJob
from tests.broker import publish_raw
from tests.client import Api
from tests.images import decode, multi_picture_jpeg, photo, png_with_transparency


def test_a_heic_upload_is_kept_as_heic_and_rendered(api: Api) -> None:
    # Given an iPhone's HEIC photo uploaded with a name that says JPEG
    content = photo(1200, 800, image_format="HEIF")
    uploaded = api.upload("IMG_0001.jpg", content)
    # When the worker has processed it
    image = api.wait_final(uploaded["id"])
    # Then it has a JPEG thumbnail, and the original is served as what it is
    assert image["status"] == "COMPLETED", image["error"]
    assert decode(httpx.get(image["thumbnailUrl"]).content).size == (256, 171)
    original = httpx.get(image["originalUrl"])
    assert original.headers["content-type"] == "image/heic"
    assert original.content == content


def test_a_multi_picture_jpeg_is_accepted_and_rendered_from_its_first_picture(api: Api) -> None:
    # Given a phone photo whose JPEG carries a second picture (a depth or gain map)
    content = multi_picture_jpeg(1200, 800)
    uploaded = api.upload("PXL_0001.jpg", content)
    # When the worker has processed it
    image = api.wait_final(uploaded["id"])
    # Then the thumbnail shows the main picture, and the original is served as a JPEG
    assert image["status"] == "COMPLETED", image["error"]
    thumbnail = decode(httpx.get(image["thumbnailUrl"]).content).convert("RGB")
    assert thumbnail.size == (256, 171)
    red, green, blue = thumbnail.getpixel((10, 10))  # type: ignore[misc]
    assert red > 200 and green < 60 and blue < 60
    original = httpx.get(image["originalUrl"])
    assert original.headers["content-type"] == "image/jpeg"
    assert original.content == content


def _insert_as_the_original_design_did(database_url: str, filename: str, original: str) -> int:
    """A row with only the original design's columns: no content type recorded."""

    async def insert() -> int:
        connection = await asyncpg.connect(database_url)
        try:
            image_id: int = await connection.fetchval(
                "INSERT INTO images (filename, original_path) VALUES ($1, $2) RETURNING id",
                filename,
                original,
            )
        finally:
            await connection.close()
        return image_id

    return asyncio.run(insert())


def test_originals_of_rows_without_a_content_type_are_served_as_what_they_are(
    api: Api, database_url: str, amqp_url: str
) -> None:
    # Given two originals stored the original design's way, with rows that record no
    # content type: a JPEG under a name that says nothing, and a PNG
    jpeg, png = photo(300, 200), png_with_transparency(60, 60)
    legacy_dir = api.storage_dir / "uploads"
    legacy_dir.mkdir(exist_ok=True)
    (legacy_dir / "cat").write_bytes(jpeg)
    (legacy_dir / "logo.PNG").write_bytes(png)
    processed = _insert_as_the_original_design_did(database_url, "cat", "uploads/cat")
    unprocessed = _insert_as_the_original_design_did(database_url, "logo.png", "uploads/logo.PNG")
    # When the first is processed from the original design's job (which detects JPEG)
    job = ImageJob(processed, "uploads/cat", f"thumbnails/legacy-{processed}_thumb.jpg")
    publish_raw(amqp_url, job.encode())
    assert api.wait_final(str(processed))["status"] == "COMPLETED"

    # Then each original is served as what it is: by the detected format, else by its name
    for image_id, content, content_type in [
        (processed, jpeg, "image/jpeg"),
        (unprocessed, png, "image/png"),
    ]:
        original = api.http.get(f"/api/images/{image_id}/original")
        assert original.status_code == 200
        assert original.headers["content-type"] == content_type
        assert original.content == content
        assert api.http.delete(f"/api/images/{image_id}").status_code == 200


def test_a_job_in_the_original_designs_own_words_completes(
    api: Api, database_url: str, amqp_url: str
) -> None:
    # Given an original stored the original design's way, and its row, whose path is from
    # the shared volume's root as the original design's were ("/uploads/image.jpg")
    (api.storage_dir / "uploads").mkdir(exist_ok=True)
    (api.storage_dir / "uploads" / "dog.jpg").write_bytes(photo(300, 200))
    image_id = _insert_as_the_original_design_did(database_url, "dog.jpg", "/uploads/dog.jpg")
    # When its producer publishes the job as the original design's did: no version, and
    # paths from the shared volume's root, with the thumbnail named after the original
    legacy = {
        "imageId": image_id,
        "originalPath": "/uploads/dog.jpg",
        "thumbnailPath": "/thumbnails/dog_thumb.jpg",
    }
    publish_raw(amqp_url, json.dumps(legacy).encode())
    # Then the image is processed from the file its row names, and the thumbnail is where
    # the job asked, under the storage root, recorded in the row's own form
    image = api.wait_final(str(image_id))
    assert image["status"] == "COMPLETED", image["error"]
    rest = api.http.get(f"/api/images/{image_id}").json()
    assert (rest["original_path"], rest["thumbnail_path"]) == (
        "/uploads/dog.jpg",
        "/thumbnails/dog_thumb.jpg",
    )
    thumbnail = decode((api.storage_dir / "thumbnails" / "dog_thumb.jpg").read_bytes())
    assert (thumbnail.format, thumbnail.size) == ("JPEG", (256, 171))
    assert (
        api.http.get(f"/api/thumbnails/{image_id}").content
        == (api.storage_dir / "thumbnails" / "dog_thumb.jpg").read_bytes()
    )
    assert api.http.delete(f"/api/images/{image_id}").status_code == 200


def test_an_original_deployments_completed_image_is_served_and_deleted_with_its_files(
    api: Api, database_url: str
) -> None:
    # Given an image processed by the original design, carried over with its files and its
    # row, whose paths are from the shared volume's root
    original, thumbnail = photo(300, 200), photo(256, 171)
    for folder, name, content in [
        ("uploads", "bird.jpg", original),
        ("thumbnails", "bird_thumb.jpg", thumbnail),
    ]:
        (api.storage_dir / folder).mkdir(exist_ok=True)
        (api.storage_dir / folder / name).write_bytes(content)

    async def insert() -> int:
        connection = await asyncpg.connect(database_url)
        try:
            image_id: int = await connection.fetchval(
                "INSERT INTO images (filename, original_path, thumbnail_path, status,"
                " processed_at) VALUES ('bird.jpg', '/uploads/bird.jpg',"
                " '/thumbnails/bird_thumb.jpg', 'completed', now()) RETURNING id"
            )
        finally:
            await connection.close()
        return image_id

    image_id = asyncio.run(insert())

    # Then its thumbnail and its original are served
    served_thumbnail = api.http.get(f"/api/thumbnails/{image_id}")
    assert (served_thumbnail.status_code, served_thumbnail.content) == (200, thumbnail)
    served_original = api.http.get(f"/api/images/{image_id}/original")
    assert (served_original.status_code, served_original.content) == (200, original)

    # And deleting it removes both files
    assert api.http.delete(f"/api/images/{image_id}").status_code == 200
    assert not (api.storage_dir / "uploads" / "bird.jpg").exists()
    assert not (api.storage_dir / "thumbnails" / "bird_thumb.jpg").exists()


def test_graphql_upload_becomes_a_thumbnail_that_fits_and_keeps_the_aspect(api: Api) -> None:
    # Given a 1200x800 photo uploaded through the GraphQL multipart mutation
    uploaded = api.upload("holiday.jpg", photo(1200, 800))
    assert uploaded["status"] == "PENDING"
    assert uploaded["filename"] == "holiday.jpg"

    # When the worker has processed it
    image = api.wait_final(uploaded["id"])

    # Then it is COMPLETED with a 256x171 JPEG thumbnail served by the same server
    assert image["status"] == "COMPLETED", image["error"]
    assert image["error"] is None
    assert image["processedAt"] is not None
    thumbnail = httpx.get(image["thumbnailUrl"])
    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"] == "image/jpeg"
    decoded = decode(thumbnail.content)
    assert decoded.format == "JPEG"
    assert decoded.size == (256, 171)
    assert image["thumbnailSize"] == len(thumbnail.content)
    # The red block stays top-left: the picture is not mirrored or rotated.
    red, green, blue = decoded.convert("RGB").getpixel((10, 10))  # type: ignore[misc]
    assert red > 200 and green < 60 and blue < 60

    original = httpx.get(image["originalUrl"])
    assert original.status_code == 200
    assert original.headers["content-type"] == "image/jpeg"
    assert len(original.content) == image["fileSize"]


def test_exif_orientation_is_applied(api: Api) -> None:
    # Orientation 6: the camera was turned; the stored pixels are landscape, the photo is not.
    uploaded = api.upload("sideways.jpg", photo(400, 200, orientation=6))
    image = api.wait_final(uploaded["id"])
    assert image["status"] == "COMPLETED", image["error"]
    assert decode(httpx.get(image["thumbnailUrl"]).content).size == (128, 256)


def test_rest_api_of_the_original_design(api: Api) -> None:
    response = api.http.post("/api/upload", files={"image": ("cat.jpg", photo(640, 480))})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "filename", "status", "message"}
    assert body["filename"] == "cat.jpg"
    assert body["status"] == "pending"
    assert isinstance(body["id"], int)

    api.wait_final(str(body["id"]))
    status = api.http.get(f"/api/images/{body['id']}").json()
    assert status["status"] == "completed"
    for key in ("id", "filename", "original_path", "thumbnail_path", "created_at", "processed_at"):
        assert status[key] is not None, key
    assert status["thumbnail_path"].endswith("_thumb.jpg")
    # Timestamps as the original design's API wrote them: UTC, "Z", as a JavaScript Date
    for key in ("created_at", "processed_at"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", status[key]), status[key]

    thumbnail = api.http.get(f"/api/thumbnails/{body['id']}")
    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert decode(thumbnail.content).size == (256, 192)


def test_an_upload_whose_media_type_is_written_in_capitals_is_a_form_too(api: Api) -> None:
    request = api.http.build_request(
        "POST", "/api/upload", files={"image": ("cat.jpg", photo(64, 48))}
    )
    request.headers["content-type"] = request.headers["content-type"].replace(
        "multipart/form-data", "Multipart/Form-Data"
    )
    response = api.http.send(request)
    assert response.status_code == 201, response.text
    api.wait_final(str(response.json()["id"]))


def test_thumbnail_of_unknown_image_is_a_json_404(api: Api) -> None:
    for path in ("/api/thumbnails/999999", "/api/thumbnails/nope", "/api/images/999999"):
        response = api.http.get(path)
        assert response.status_code == 404
        assert "not found" in response.json()["error"]


def test_batch_upload_accepts_good_files_and_names_the_rejected_one(api: Api) -> None:
    response = api.upload_multipart(
        [("one.jpg", photo(300, 200)), ("notes.jpg", b"just some text"), ("two.jpg", photo())]
    )
    body = response.json()
    accepted = body["data"]["uploadImages"]
    assert [image["filename"] for image in accepted] == ["one.jpg", "two.jpg"]
    assert all(image["status"] == "PENDING" for image in accepted)
    [error] = body["errors"]
    assert error["path"] == ["uploadImages"]
    assert error["extensions"]["fileIndex"] == 1
    assert error["extensions"]["filename"] == "notes.jpg"
    assert "not a supported image" in error["message"]
    for image in accepted:
        assert api.wait_final(image["id"])["status"] == "COMPLETED"


def test_images_lists_newest_first_with_cursor_pagination_and_status_filter(api: Api) -> None:
    ids = [api.upload(f"page-{i}.jpg", photo(200, 100))["id"] for i in range(3)]
    for image_id in ids:
        api.wait_final(image_id)
    query = """
      query($after: String, $status: ImageStatus) {
        images(first: 2, after: $after, status: $status) {
          edges { cursor node { id status } }
          pageInfo { hasNextPage endCursor }
        }
      }"""
    first = api.graphql(query)["data"]["images"]
    assert [edge["node"]["id"] for edge in first["edges"]] == [ids[2], ids[1]]
    assert first["pageInfo"]["hasNextPage"] is True
    second = api.graphql(query, {"after": first["pageInfo"]["endCursor"]})["data"]["images"]
    assert second["edges"][0]["node"]["id"] == ids[0]

    completed = api.graphql(query, {"status": "COMPLETED"})["data"]["images"]["edges"]
    assert completed and all(edge["node"]["status"] == "COMPLETED" for edge in completed)
    pending = api.graphql(query, {"status": "PENDING"})["data"]["images"]["edges"]
    assert all(edge["node"]["status"] == "PENDING" for edge in pending)
    # DELETED is a status of the imageUpdates stream only: a deleted image's row is gone.
    assert api.graphql(query, {"status": "DELETED"})["data"]["images"] == {
        "edges": [],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
    }


def test_delete_removes_the_row_and_every_file(api: Api) -> None:
    before = set(api.stored_files())
    image = api.wait_final(api.upload("delete-me.jpg", photo())["id"])
    added = set(api.stored_files()) - before
    # the original, the thumbnail and the small and large renditions
    assert len(added) == 4

    deleted = api.graphql("mutation($id: ID!) { deleteImage(id: $id) }", {"id": image["id"]})
    assert deleted["data"]["deleteImage"] is True
    assert api.image(image["id"]) is None
    assert not any(path.exists() for path in added)
    # nor the image's own renditions folder, left empty
    folders = {path.parent for path in added if path.parent.parent.name == "renditions"}
    assert len(folders) == 1 and not any(folder.exists() for folder in folders)
    again = api.graphql("mutation($id: ID!) { deleteImage(id: $id) }", {"id": image["id"]})
    assert again["data"]["deleteImage"] is False

    rest = api.http.post("/api/upload", files={"image": ("rest.jpg", photo())}).json()
    assert api.http.delete(f"/api/images/{rest['id']}").json() == {
        "id": rest["id"],
        "deleted": True,
    }
    assert api.http.get(f"/api/images/{rest['id']}").status_code == 404
    assert api.http.delete(f"/api/images/{rest['id']}").status_code == 404


def test_multipart_without_a_preflight_header_is_blocked_as_csrf(api: Api) -> None:
    before = api.stored_originals()
    response = api.upload_multipart([("forged.jpg", photo())], headers={})
    assert response.status_code == 400
    assert "Cross-Site Request Forgery" in response.json()["errors"][0]["message"]
    assert api.stored_originals() == before

    allowed = api.upload_multipart(
        [("named.jpg", photo())], headers={"X-Apollo-Operation-Name": "Upload"}
    )
    assert allowed.json()["data"]["uploadImage"]["status"] == "PENDING"


def test_healthz_reports_database_and_broker(api: Api) -> None:
    response = api.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_graphiql_is_served(api: Api) -> None:
    response = api.http.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()
