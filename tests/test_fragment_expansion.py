"""Fragments that expand too far are refused before validation, whatever the transport."""

from __future__ import annotations

import json

import httpx
from graphql import parse

from server.graphql.fragment_expansion import MAX_EXPANDED_SELECTIONS, TOO_LARGE, expansion_error
from tests.processes import Launcher
from tests.ws import LEGACY_WS, TRANSPORT_WS, Subscription


def _doubling(operation: str, on_type: str, fragments: int) -> str:
    """``{ ...F1 }`` where each fragment spreads the next twice: 2^(fragments-1) leaves."""
    doubling = " ".join(
        f"fragment F{i} on {on_type} {{ ...F{i + 1} ...F{i + 1} }}" for i in range(1, fragments)
    )
    return f"{operation} {{ ...F1 }} {doubling} fragment F{fragments} on {on_type} {{ __typename }}"


def _spreading_each_other(fragments: int) -> str:
    """Fragments that all spread one another: a validator that stops a cycle only where
    a path meets a fragment twice walks every ordering of them."""
    definitions = " ".join(
        f"fragment F{i} on Query {{ __typename "
        + " ".join(f"...F{j}" for j in range(fragments) if j != i)
        + " }"
        for i in range(fragments)
    )
    return f"query Q {{ ...F0 }} {definitions}"


def _message(document: str) -> str | None:
    error = expansion_error(parse(document))
    return None if error is None else error.message


def test_expansion_is_counted_once_per_fragment() -> None:
    # 30 doubling fragments expand to over 2^30 selections: counted at once, and refused
    assert _message(_doubling("query Q", "Query", 30)) == TOO_LARGE
    assert str(MAX_EXPANDED_SELECTIONS) in TOO_LARGE
    # Ordinary use of fragments, and the same shape kept small, pass
    assert _message(_doubling("query Q", "Query", 5)) is None
    assert _message("query Q { ...A ...A } fragment A on Query { __typename }") is None


def test_cycles_unknown_fragments_and_deep_chains_get_clear_answers() -> None:
    assert _message(_spreading_each_other(12)) == "Cannot spread fragment 'F0' within itself."
    # An unknown fragment expands to nothing here; validation names it
    assert _message("query Q { ...Missing }") is None
    # A chain too long to count recursively is refused like an expansion, not a crash
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(5000))
    document = f"query Q {{ ...F0 }} {chain} fragment F5000 on Query {{ __typename }}"
    assert _message(document) == TOO_LARGE


def test_an_exploding_document_is_refused_over_http_and_websocket(stack: Launcher) -> None:
    # Its own server: on code without the check, the first request holds its event loop
    # for hours, and the request's timeout fails the test.
    server, base_url = stack.start_server()
    query = _doubling("query Q", "Query", 30)
    watch_all = _doubling("subscription S", "ImageUpdate", 30).replace(
        "{ ...F1 }", "{ imageUpdates { ...F1 } }", 1
    )
    with httpx.Client(base_url=base_url, timeout=20) as http:
        answers = [
            http.post("/graphql", json={"query": query}),
            http.get("/graphql", params={"query": query}),
            http.post("/graphql", json={"query": _spreading_each_other(12)}),
        ]
        bodies = [answer.json() for answer in answers]
        refused = {"code": "GRAPHQL_VALIDATION_FAILED"}
        too_large = {"message": TOO_LARGE, "extensions": refused}
        assert bodies[0] == bodies[1] == {"data": None, "errors": [too_large]}
        cycle = "Cannot spread fragment 'F0' within itself."
        assert bodies[2]["errors"] == [{"message": cycle, "extensions": refused}]

        # Over WebSocket, the shared watch-all path and Strawberry's own both refuse it
        for protocol, document in [
            (TRANSPORT_WS, watch_all),
            (TRANSPORT_WS, query),
            (LEGACY_WS, watch_all),
        ]:
            subscription = Subscription(base_url, protocol, query=document, variables={})
            try:
                message = subscription.next_message(timeout_s=20)
            finally:
                subscription.close()
            assert message["type"] == "error", message
            assert TOO_LARGE in json.dumps(message["payload"])

        # And the server still answers, and logged no fault for the client's mistake
        assert http.post("/graphql", json={"query": "{ __typename }"}).json() == {
            "data": {"__typename": "Query"}
        }
    records = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    assert [r for r in records if r["level"] in ("warning", "error", "critical")] == []
