"""Mutations answer for each field and each file: a refusal never hides work already done."""

from __future__ import annotations

import json
from typing import Any

from tests.client import PREFLIGHT, UPLOAD_MANY, Api
from tests.images import photo


def _multipart(
    api: Api, query: str, variables: dict[str, Any], files: dict[str, tuple[str, bytes]]
) -> dict[str, Any]:
    """A multipart request whose file ``name`` goes to the variable path ``name``."""
    response = api.http.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": query, "variables": variables}),
            "map": json.dumps({str(i): [path] for i, path in enumerate(files)}),
        },
        files={str(i): file for i, file in enumerate(files.values())},
        headers=PREFLIGHT,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_refused_mutation_field_nulls_only_itself_and_the_delete_before_it_shows(
    api: Api,
) -> None:
    image_id = api.upload("delete-then-retry.jpg", photo(40, 40))["id"]
    # When one document deletes an image, then asks to retry it (refused: it is gone)
    body = api.graphql(
        "mutation($id: ID!) { del: deleteImage(id: $id) again: retryImage(id: $id) { id } }",
        {"id": image_id},
    )
    # Then the client reads that the delete happened, and why the retry did not
    assert body["data"] == {"del": True, "again": None}
    [error] = body["errors"]
    assert error["path"] == ["again"]
    assert error["message"] == f"no image with id {image_id}"
    assert api.image(image_id) is None


def test_two_uploads_in_one_document_with_one_bad_file_return_the_stored_one(api: Api) -> None:
    before = api.stored_originals()
    body = _multipart(
        api,
        "mutation($a: Upload!, $b: Upload!) {"
        " good: uploadImage(file: $a) { id filename } bad: uploadImage(file: $b) { id } }",
        {"a": None, "b": None},
        {
            "variables.a": ("good.jpg", photo(40, 40)),
            "variables.b": ("bad.jpg", b"not an image at all"),
        },
    )
    # The stored file's id reaches the client, so it need not send it again
    assert body["data"]["bad"] is None
    assert body["data"]["good"]["filename"] == "good.jpg"
    [error] = body["errors"]
    assert error["path"] == ["bad"]
    assert error["message"].startswith("bad.jpg: not a supported image")
    assert api.wait_final(body["data"]["good"]["id"])["status"] == "COMPLETED"
    assert len(api.stored_originals()) == len(before) + 1


def test_a_batch_with_an_entry_that_is_not_a_file_is_refused_and_stores_nothing(
    api: Api,
) -> None:
    before = api.stored_originals()
    # A file, then a string where the second file should be
    body = _multipart(
        api, UPLOAD_MANY, {"fs": [None, "not-a-file"]}, {"variables.fs.0": ("a.jpg", photo())}
    )
    assert body["data"] == {"uploadImages": None}
    [error] = body["errors"]
    assert error["path"] == ["uploadImages"]
    assert error["message"] == "files[1]: expected a file in a multipart request"
    assert api.stored_originals() == before


def test_rejected_files_of_aliased_batches_name_their_own_field_and_index_in_files(
    api: Api,
) -> None:
    good, bad = photo(40, 40), b"just some text"
    body = _multipart(
        api,
        "mutation($a: [Upload!]!, $b: [Upload!]!) {"
        " first: uploadImages(files: $a) { filename }"
        " second: uploadImages(files: $b) { filename } }",
        {"a": [None, None], "b": [None, None]},
        {
            "variables.a.0": ("a0.jpg", good),
            "variables.a.1": ("a1.txt", bad),
            "variables.b.0": ("b0.txt", bad),
            "variables.b.1": ("b1.jpg", good),
        },
    )
    assert body["data"] == {"first": [{"filename": "a0.jpg"}], "second": [{"filename": "b1.jpg"}]}
    # Each error's path is a key of `data`
    first_error, second_error = sorted(body["errors"], key=lambda error: error["path"])
    assert (first_error["path"], second_error["path"]) == (["first"], ["second"])
    # And the file is found by its index in `files`, not in the answer's list, which holds
    # only the accepted files
    errors = (first_error, second_error)
    assert [error["extensions"]["fileIndex"] for error in errors] == [1, 0]
    assert [error["extensions"]["filename"] for error in errors] == ["a1.txt", "b0.txt"]


RENDITIONS_ONLY_THUMB = {"renditions": [{"name": "thumb", "width": 64}]}
UPLOAD_WITH_OPTIONS = (
    "mutation($f: Upload!, $o: UploadOptions) { uploadImage(file: $f, options: $o) { id } }"
)


def test_a_refused_upload_image_says_by_its_code_to_change_the_file_and_names_it(
    api: Api,
) -> None:
    before = api.stored_originals()
    # When a client sends a file that is not an image through uploadImage
    response = api.upload_multipart([("notes.jpg", b"just some text")])
    assert response.status_code == 200, response.text
    body = response.json()
    # Then the field is null, and its error says, as uploadImages' per-file errors do, that
    # this file must change (not be sent again as it is), which file, and why
    assert body["data"] == {"uploadImage": None}
    [error] = body["errors"]
    assert error["path"] == ["uploadImage"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["filename"] == "notes.jpg"
    assert error["extensions"]["reason"].startswith("not a supported image")
    assert api.stored_originals() == before


def test_invalid_upload_options_are_refused_as_bad_user_input(api: Api) -> None:
    # When a client asks for a rendition under the reserved name
    response = api.upload_multipart(
        [("fine.jpg", photo(40, 40))],
        query=UPLOAD_WITH_OPTIONS,
        variables={"o": RENDITIONS_ONLY_THUMB},
    )
    # Then it is told to change its request
    [error] = response.json()["errors"]
    assert "thumb" in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


RETRY = "mutation($id: ID!) { retryImage(id: $id) { id status } }"


def test_a_retry_of_an_image_that_is_not_failed_names_its_status_under_bad_user_input(
    api: Api,
) -> None:
    # Given a COMPLETED image
    image_id = api.upload("fine-as-it-is.jpg", photo(40, 40))["id"]
    assert api.wait_final(image_id)["status"] == "COMPLETED"
    # When a client asks to retry it
    body = api.graphql(RETRY, {"id": image_id})
    # Then the retry is refused as something not to ask again, and the image's status says why
    assert body["data"] == {"retryImage": None}
    [error] = body["errors"]
    assert error["message"] == f"image {image_id} is COMPLETED; only FAILED images can be retried"
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "status": "COMPLETED"}

    # And a retry of an image that does not exist is refused the same way, with no status
    [unknown] = api.graphql(RETRY, {"id": "987654321"})["errors"]
    assert unknown["extensions"] == {"code": "BAD_USER_INPUT"}
