"""Watch-all subscriptions share one execution per event: each client still gets its own answer."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace
from typing import Any, cast

import pytest

from infra.broker.messages import ImageEvent
from server.graphql.context import Context
from server.graphql.errors import UserFacingError
from server.graphql.schema import QueryLimits, schema
from server.graphql.shared_subscriptions import SharedPayloads, shared_document
from tests.client import Api
from tests.images import photo
from tests.ws import LEGACY_WS, TRANSPORT_WS, UPDATES, Subscription, assert_moves_forward

WATCH_ALL = "subscription { imageUpdates { id status } }"
ALIASED = "subscription Feed { feed: imageUpdates(ids: null) { id status image { filename } } }"


def test_each_watch_all_subscriber_gets_its_own_selection(api: Api) -> None:
    # Given, on one server, dashboards with the same document, others with their own, and
    # one on the legacy protocol
    same = [Subscription(api.base_url, TRANSPORT_WS) for _ in range(3)]
    plain = Subscription(api.base_url, TRANSPORT_WS, query=WATCH_ALL, variables={})
    aliased = Subscription(api.base_url, TRANSPORT_WS, query=ALIASED, variables={})
    legacy = Subscription(api.base_url, LEGACY_WS)
    everyone = [*same, plain, aliased, legacy]
    try:
        # When an image goes through
        image_id = api.upload("shared.jpg", photo())["id"]
        seen = [subscriber.updates_for(image_id) for subscriber in everyone]
    finally:
        for subscriber in everyone:
            subscriber.close()

    # Then every one of them follows it to COMPLETED, with exactly the fields it asked for
    for updates in seen:
        assert [updates[0]["status"], updates[-1]["status"]] == ["PENDING", "COMPLETED"]
    same_updates, plain_updates, aliased_updates, legacy_updates = seen[0], *seen[3:]
    assert set(same_updates[0]) == {"id", "status", "progress", "stage", "error", "image"}
    assert set(plain_updates[0]) == {"id", "status"}
    assert set(aliased_updates[0]) == {"id", "status", "image"}
    assert aliased_updates[-1]["image"] == {"filename": "shared.jpg"}
    # And subscribers of the same document, shared or run by Strawberry, agree on each
    # step they saw and end on the same final state (how many progress steps each sees
    # depends on how fast it reads: steps waiting for a busy reader are coalesced)
    same_document = [*seen[:3], legacy_updates]
    by_stage: dict[str, list[dict[str, Any]]] = {}
    for updates in same_document:
        assert_moves_forward(updates)
        for update in updates:
            by_stage.setdefault(str(update["stage"]), []).append({**update, "image": None})
    for stage, versions in by_stage.items():
        assert all(version == versions[0] for version in versions), stage
    assert all(updates[-1] == legacy_updates[-1] for updates in same_document)


@pytest.mark.parametrize(
    ("query", "variables", "message"),
    [
        ("subscription { imageUpdates { nope } }", {}, "Cannot query field 'nope'"),
        (
            "subscription($x: Boolean!) { imageUpdates { id @include(if: $x) } }",
            {},
            "Variable '$x' has invalid value",
        ),
        (
            "subscription { imageUpdates { " + " ".join(f"a{i}: id" for i in range(16)) + " } }",
            {},
            "16 aliases found. Allowed: 15",
        ),
    ],
    ids=["unknown field", "missing variable", "alias limit"],
)
def test_a_faulty_watch_all_document_is_refused_at_once(
    api: Api, query: str, variables: dict[str, Any], message: str
) -> None:
    subscriber = Subscription(api.base_url, TRANSPORT_WS, query=query, variables=variables)
    try:
        answer = subscriber.next_message(timeout_s=10)
    finally:
        subscriber.close()
    assert answer["type"] == "error", answer
    assert message.lower() in answer["payload"][0]["message"].lower()


def test_links_in_a_shared_stream_name_each_clients_own_host(api: Api) -> None:
    port = api.base_url.rsplit(":", 1)[1]
    query = "subscription { imageUpdates { id status image { thumbnailUrl } } }"
    by_ip = Subscription(f"http://127.0.0.1:{port}", TRANSPORT_WS, query=query, variables={})
    by_name = Subscription(f"http://localhost:{port}", TRANSPORT_WS, query=query, variables={})
    try:
        image_id = api.upload("hosts.jpg", photo())["id"]
        ip_updates = by_ip.updates_for(image_id)
        name_updates = by_name.updates_for(image_id)
    finally:
        by_ip.close()
        by_name.close()
    assert ip_updates[-1]["image"]["thumbnailUrl"].startswith(f"http://127.0.0.1:{port}/")
    assert name_updates[-1]["image"]["thumbnailUrl"].startswith(f"http://localhost:{port}/")


def test_an_ids_variable_with_a_default_still_watches_only_those_ids(api: Api) -> None:
    # Given a finished image and a document whose $ids defaults to it
    image_id = api.upload("defaulted.jpg", photo())["id"]
    api.wait_final(image_id)
    query = UPDATES.replace("$ids: [ID!]", f'$ids: [ID!] = ["{image_id}"]')
    # When it subscribes without variables
    watcher = Subscription(api.base_url, TRANSPORT_WS, query=query, variables={})
    try:
        updates = watcher.updates_until_complete()
    finally:
        watcher.close()
    # Then it gets that image's state and completes, as with explicit ids
    assert [(u["id"], u["status"]) for u in updates] == [(image_id, "COMPLETED")]


@pytest.mark.parametrize(
    ("query", "variables", "shared"),
    [
        (WATCH_ALL, None, True),
        (ALIASED, None, True),
        (UPDATES, {"ids": None}, True),
        (UPDATES, {}, True),
        (UPDATES, {"ids": ["1"]}, False),
        (UPDATES.replace("$ids: [ID!]", '$ids: [ID!] = ["1"]'), {}, False),
        (UPDATES.replace("$ids: [ID!]", '$ids: [ID!] = ["1"]'), {"ids": None}, True),
        ('subscription { imageUpdates(ids: ["1"]) { id } }', None, False),
        ("subscription { imageUpdates { id } other: imageUpdates { id } }", None, False),
        ("subscription { ... on Subscription { imageUpdates { id } } }", None, False),
        ("subscription { imageUpdates @skip(if: false) { id } }", None, False),
        ("query { imageUpdates { id } }", None, False),
        ("subscription {", None, False),
    ],
)
def test_only_documents_watching_all_images_are_shared(
    query: str, variables: dict[str, Any] | None, shared: bool
) -> None:
    document = shared_document(
        query, variables, None, base_url="http://localhost", max_tokens=QueryLimits().max_tokens
    )
    assert (document is not None) == shared


async def _shared_payload_when_image_read_fails(error: Exception) -> dict[str, Any]:
    """Event 7's payload for a shared watch-all document whose `image` read raises ``error``."""
    query = "subscription { imageUpdates { id image { filename } } }"
    document = shared_document(query, {}, None, base_url="http://x", max_tokens=2000)
    assert document is not None
    payloads = SharedPayloads(schema, max_document_tokens=2000)

    async def failing_read(image_id: int) -> None:
        raise type(error)(f"{error} (image {image_id})")

    context = cast("Context", SimpleNamespace(service=SimpleNamespace(get=failing_read)))
    assert await payloads.is_valid(document, context)
    encoded = await payloads.payload(document, ImageEvent(7, "pending", 0.0), None, context)
    payload: dict[str, Any] = json.loads(encoded)
    return payload


async def test_a_failing_field_in_a_shared_stream_is_masked_for_clients_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # When an event's payload is made and its `image` read fails unexpectedly
    with caplog.at_level(logging.ERROR):
        payload = await _shared_payload_when_image_read_fails(
            RuntimeError("connection to 10.0.0.5 lost")
        )
    # Then the client gets the event with an opaque error in place of the image
    assert payload["data"] == {"imageUpdates": {"id": "7", "image": None}}
    assert [error["message"] for error in payload["errors"]] == ["Unexpected error."]
    assert payload["errors"][0]["path"] == ["imageUpdates", "image"]
    assert "10.0.0.5" not in json.dumps(payload)
    # And the operator's log has what went wrong
    assert "connection to 10.0.0.5 lost (image 7)" in caplog.text


async def test_an_error_meant_for_clients_in_a_shared_stream_is_shown() -> None:
    payload = await _shared_payload_when_image_read_fails(UserFacingError("it was deleted"))
    assert [error["message"] for error in payload["errors"]] == ["it was deleted (image 7)"]
