"""Requests /graphql cannot run get a GraphQL JSON answer saying why, and run nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from server.graphql.operation_name import OPERATION_NAME_REQUIRED
from server.graphql.view import NOT_A_GRAPHQL_REQUEST, SUBSCRIPTIONS_NEED_A_WEBSOCKET
from tests.client import PREFLIGHT, Api
from tests.images import photo
from tests.processes import Launcher, server_behind_a_proxy
from tests.ws import LEGACY_WS, TRANSPORT_WS, Connection, Subscription, errors_in

WATCH_ALL = "subscription { imageUpdates { id status } }"


def test_a_subscription_over_http_is_refused_as_the_clients_mistake(stack: Launcher) -> None:
    server, base_url = stack.start_server()
    with httpx.Client(base_url=base_url, timeout=30) as http:
        answers = [
            http.post("/graphql", json={"query": WATCH_ALL}),
            http.get("/graphql", params={"query": WATCH_ALL}),
            http.post(
                "/graphql",
                json={"query": WATCH_ALL},
                headers={"Accept": "multipart/mixed;subscriptionSpec=1.0,application/json"},
            ),
        ]
    for answer in answers:
        assert answer.status_code == 400, answer.text
        assert answer.json() == {"errors": [{"message": SUBSCRIPTIONS_NEED_A_WEBSOCKET}]}
    # And nothing in the log reads as a server fault
    records = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    assert [r for r in records if r["level"] in ("warning", "error", "critical")] == []


def _too_many_files(api: Api) -> httpx.Response:
    return api.upload_multipart([(f"{i}.jpg", b"x") for i in range(21)])


def _not_multipart(api: Api) -> httpx.Response:
    headers = {**PREFLIGHT, "content-type": "multipart/form-data; boundary=b"}
    return api.http.post("/graphql", content=b"not multipart at all", headers=headers)


def _file_missing(api: Api) -> httpx.Response:
    # The map names part "0"; the only file sent is "1"
    operations = {"query": "mutation($f: Upload!) { uploadImage(file: $f) { id } }"}
    return api.http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.f"]})},
        files={"1": ("a.jpg", b"x")},
        headers=PREFLIGHT,
    )


def _not_json(api: Api) -> httpx.Response:
    headers = {"content-type": "application/json"}
    return api.http.post("/graphql", content=b"{not json", headers=headers)


def _a_batch(api: Api) -> httpx.Response:
    return api.http.post("/graphql", json=[{"query": "{ __typename }"}])


def _no_query(api: Api) -> httpx.Response:
    return api.http.post("/graphql", json={"variables": {}})


def _json_not_an_object(body: bytes) -> Callable[[Api], httpx.Response]:
    def send(api: Api) -> httpx.Response:
        headers = {"content-type": "application/json"}
        return api.http.post("/graphql", content=body, headers=headers)

    return send


def _form_not_objects(operations: str, files_map: str) -> Callable[[Api], httpx.Response]:
    def send(api: Api) -> httpx.Response:
        return api.http.post(
            "/graphql",
            data={"operations": operations, "map": files_map},
            files={"0": ("a.jpg", b"x")},
            headers=PREFLIGHT,
        )

    return send


_NOT_OBJECTS = [b"null", b'"a string"', b"5", b"true"]


@pytest.mark.parametrize(
    ("send", "message"),
    [
        (_too_many_files, "invalid multipart form: at most 20 files per request"),
        (_not_multipart, "invalid multipart form: invalid multipart data"),
        (_file_missing, "File(s) missing in form data"),
        (_not_json, "Unable to parse request body as JSON"),
        (_a_batch, "Batching is not enabled"),
        (_no_query, "No GraphQL query found in the request"),
        *[(_json_not_an_object(body), NOT_A_GRAPHQL_REQUEST) for body in _NOT_OBJECTS],
        (_form_not_objects("null", '{"0": ["variables.f"]}'), NOT_A_GRAPHQL_REQUEST),
        (_form_not_objects("5", '{"0": ["variables.f"]}'), NOT_A_GRAPHQL_REQUEST),
        (_form_not_objects('{"query": "{ __typename }"}', "[]"), NOT_A_GRAPHQL_REQUEST),
    ],
    ids=[
        "too many files",
        "not multipart",
        "file missing",
        "not JSON",
        "batch",
        "no query",
        *[f"JSON {body.decode()}" for body in _NOT_OBJECTS],
        "operations null",
        "operations a number",
        "map a list",
    ],
)
def test_a_request_that_cannot_run_is_answered_in_graphql_json(
    api: Api, send: Callable[[Api], httpx.Response], message: str
) -> None:
    before = api.stored_originals()
    response = send(api)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"errors": [{"message": message}]}
    assert api.stored_originals() == before


def test_a_document_of_several_operations_runs_none_without_an_operation_name(
    api: Api,
) -> None:
    image_id = api.upload("named.jpg", photo(40, 40))["id"]
    document = (
        f'query Look {{ image(id: "{image_id}") {{ id }} }} '
        f'mutation Remove {{ deleteImage(id: "{image_id}") }}'
    )
    body = api.graphql(document)
    assert body["data"] is None
    assert [error["message"] for error in body["errors"]] == [OPERATION_NAME_REQUIRED]
    assert body["errors"][0]["extensions"] == {"code": "OPERATION_RESOLUTION_FAILURE"}
    assert api.image(image_id) is not None

    # Named, the chosen operation runs
    named = api.http.post("/graphql", json={"query": document, "operationName": "Remove"})
    assert named.json() == {"data": {"deleteImage": True}}
    assert api.image(image_id) is None


def test_a_subscription_document_of_several_operations_needs_an_operation_name(
    stack: Launcher,
) -> None:
    # Over WebSocket as over HTTP, a client must say which subscription it means
    _, base_url = stack.start_server()
    document = "subscription A { imageUpdates { id } } subscription B { imageUpdates { status } }"
    for protocol in (TRANSPORT_WS, LEGACY_WS):
        subscription = Subscription(base_url, protocol, query=document, variables={})
        try:
            message = subscription.next_message(timeout_s=20)
        finally:
            subscription.close()
        # Refused before anything runs: the first answer is the error, with no data
        assert OPERATION_NAME_REQUIRED in json.dumps(message["payload"]), (protocol, message)
        assert message["payload"].get("data") is None


_DEEP = "a { " * 11 + "b" + " }" * 11
_ALIASES = " ".join(f"a{i}: id" for i in range(16))
_DOCUMENTS_REFUSED_BEFORE_EXECUTION: list[tuple[str, str | None, str]] = [
    # (document, operationName, the first error's message)
    ("subscription { imageUpdates( { id }", None, "Syntax Error: Expected Name, found '{'."),
    ('{ image(id: "1") { id ', None, "Syntax Error: Expected Name, found <EOF>."),
    (
        "subscription { imageUpdates { " + "id " * 2000 + "} }",
        None,
        "Syntax Error: Document contains more than 2000 tokens. Parsing aborted.",
    ),
    (
        "subscription { imageUpdates { nope } }",
        None,
        "Cannot query field 'nope' on type 'ImageUpdate'.",
    ),
    (
        f"subscription {{ imageUpdates {{ {_DEEP} }} }}",
        None,
        "'anonymous' exceeds maximum operation depth of 10",
    ),
    (f"subscription {{ imageUpdates {{ {_ALIASES} }} }}", None, "16 aliases found. Allowed: 15"),
    (
        "subscription { imageUpdates { ...F } } "
        "fragment F on ImageUpdate { ...G } fragment G on ImageUpdate { ...F }",
        None,
        "Cannot spread fragment 'F' within itself.",
    ),
    ("subscription A { imageUpdates { id } }", "B", 'Unknown operation named "B".'),
]


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
def test_a_document_refused_before_execution_is_answered_with_an_error_over_websocket(
    stack: Launcher, protocol: str
) -> None:
    # Given one connection, and documents that fail parsing, validation or a limit
    server, base_url = stack.start_server()
    socket = Connection(base_url, protocol)
    try:
        for number, (document, operation_name, first_error) in enumerate(
            _DOCUMENTS_REFUSED_BEFORE_EXECUTION
        ):
            # When each is sent on it in turn
            operation_id = f"bad-{number}"
            socket.start(operation_id, document, operation_name)

            # Then its answer is an `error` for its id, with the message HTTP would give:
            # nothing before it (no bare `complete`, no earlier id's), and the connection
            # stays open for the next one
            try:
                message = socket.next_message(timeout_s=10)
            except TimeoutError:
                pytest.fail(f"no answer to {document[:60]!r} over {protocol}")
            assert message["id"] == operation_id and message["type"] == "error", message
            errors = message["payload"]
            # graphql-transport-ws sends a list of errors, graphql-ws the first alone
            first = errors[0] if protocol == TRANSPORT_WS else errors
            assert first["message"] == first_error, message
        # And nothing more came for the last one either: the next message answers another
        socket.start("after", "subscription { imageUpdates { nope } }")
        assert socket.next_message(timeout_s=10)["id"] == "after"
    finally:
        socket.close()
    # And nothing in the log reads as a server fault
    records = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    assert [r for r in records if r["level"] in ("warning", "error", "critical")] == []


IMAGES = (
    "query($first: Int!, $after: String) {"
    " images(first: $first, after: $after) { edges { cursor } } }"
)


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ images(first: 5 { edges { cursor } } }", {}, "GRAPHQL_PARSE_FAILED"),
        ("{ images { edges { noSuchField } } }", {}, "GRAPHQL_VALIDATION_FAILED"),
        (
            "{ " + " ".join(f"a{i}: limits {{ maxUploadBytes }}" for i in range(16)) + " }",
            {},
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "query($s: ImageStatus) { images(status: $s) { edges { cursor } } }",
            {"s": "LOST"},
            "BAD_USER_INPUT",
        ),
        (IMAGES, {"first": 0}, "BAD_USER_INPUT"),
        (IMAGES, {"first": 5, "after": "not-a-cursor"}, "BAD_USER_INPUT"),
        ("{ stats(throughputMinutes: 0) { counts { total } } }", {}, "BAD_USER_INPUT"),
        ('{ image(id: "1") { srcset(rendition: "x") } }', {}, "GRAPHQL_VALIDATION_FAILED"),
    ],
    ids=[
        "syntax",
        "unknown field",
        "too many aliases",
        "bad enum variable",
        "first out of range",
        "bad cursor",
        "throughput window out of range",
        "unknown argument",
    ],
)
def test_a_request_the_client_must_change_says_what_to_fix_by_its_code(
    api: Api, query: str, variables: dict[str, object], code: str
) -> None:
    # When a client sends a document, or values, that no retry will make right
    body = api.graphql(query, variables)
    # Then its error's code says what kind of change is needed, as Apollo Server's do
    assert [error["extensions"]["code"] for error in body["errors"]] == [code], body


UNAVAILABLE = "the database is unavailable; try again"


def test_a_database_outage_tells_every_operation_by_its_code_to_try_again_later(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    # Given a server that reaches PostgreSQL through a proxy of this test's own, and an image
    with server_behind_a_proxy(service_env, tmp_path, "database") as (_, api, proxy):
        image_id = api.upload("kept.jpg", photo(40, 40))["id"]
        # When the database becomes unreachable for that server
        proxy.cut()
        # Then queries and mutations that need it are told to send the same request later
        for query in [
            "query($id: ID!) { image(id: $id) { id } }",
            "query { images { edges { cursor } } }",
            "query { stats { counts { total } } }",
            "mutation($id: ID!) { deleteImage(id: $id) }",
            "mutation($id: ID!) { retryImage(id: $id) { id } }",
        ]:
            variables = {"id": image_id} if "$id" in query else {}
            [error] = api.graphql(query, variables)["errors"]
            assert error["message"] == UNAVAILABLE, query
            assert error["extensions"] == {"code": "SERVICE_UNAVAILABLE"}, query
        # And an upload also names the file, as a batch upload's per-file errors do
        upload = api.upload_multipart([("later.jpg", photo(40, 40))]).json()
        assert upload["data"] == {"uploadImage": None}
        [error] = upload["errors"]
        assert error["message"] == UNAVAILABLE
        assert error["extensions"] == {
            "code": "SERVICE_UNAVAILABLE",
            "filename": "later.jpg",
            "reason": UNAVAILABLE,
        }
        # And so is a subscription to the image, over either WebSocket protocol
        for protocol in (TRANSPORT_WS, LEGACY_WS):
            watcher = Subscription(api.base_url, protocol, ids=[image_id])
            try:
                [error] = errors_in(watcher.next_message())
            finally:
                watcher.close()
            assert error["message"] == UNAVAILABLE, protocol
            assert error["extensions"] == {"code": "SERVICE_UNAVAILABLE"}, protocol
