"""What one client, and all of them together, can hold open on one server: GraphQL WebSockets."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from server.websocket_limits import OpenWebSockets, client_address
from tests.processes import Launcher
from tests.scraping import scrape, value, wait_for
from tests.ws import LEGACY_WS, TRANSPORT_WS

# The tests' clients all connect from 127.0.0.1, which uvicorn trusts as a proxy by default
# (FORWARDED_ALLOW_IPS): each socket names the client it stands for in X-Forwarded-For.
ONE_CLIENT = "203.0.113.7"
ANOTHER_CLIENT = "198.51.100.9"


def _socket(base_url: str, client: str, protocol: str = TRANSPORT_WS) -> ClientConnection:
    """A WebSocket to /graphql on behalf of ``client``, before ``connection_init``."""
    return connect(
        base_url.replace("http://", "ws://") + "/graphql",
        subprotocols=[protocol],  # type: ignore[list-item]
        additional_headers={"X-Forwarded-For": client},
        open_timeout=10,
    )


def _initialised(base_url: str, client: str, protocol: str = TRANSPORT_WS) -> ClientConnection:
    """A socket the server has acknowledged (``connection_ack``)."""
    socket = _socket(base_url, client, protocol)
    socket.send(json.dumps({"type": "connection_init", "payload": {}}))
    while json.loads(socket.recv(timeout=10))["type"] != "connection_ack":
        pass
    return socket


def _refusal(base_url: str, client: str) -> tuple[int, str]:
    """The close code and reason of a socket the server turns away."""
    socket = _socket(base_url, client)
    try:
        with pytest.raises(ConnectionClosed) as closed:
            socket.send(json.dumps({"type": "connection_init", "payload": {}}))
            while True:
                socket.recv(timeout=10)
    finally:
        socket.close()
    assert closed.value.rcvd is not None, "closed without a close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason


def _admitted_soon(base_url: str, client: str, timeout_s: float = 10) -> ClientConnection:
    """An initialised socket for ``client`` once the server has room for it: a socket the
    client closed is counted until the server has seen it go."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return _initialised(base_url, client)
        except ConnectionClosed:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextmanager
def _server(stack: Launcher, settings: dict[str, str]) -> Iterator[str]:
    server, base_url = stack.start_server(settings)
    try:
        yield base_url
    finally:
        server.stop()


def _still_serves(base_url: str) -> None:
    """Other clients' sockets and plain HTTP requests are answered as usual."""
    other = _initialised(base_url, ANOTHER_CLIENT)
    other.close()
    answer = httpx.post(
        f"{base_url}/graphql", json={"query": "{ images(first: 1) { edges { cursor } } }"}
    )
    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text


def test_one_address_gets_its_limit_and_then_try_again_later(stack: Launcher) -> None:
    with _server(stack, {"MAX_WEBSOCKETS_PER_ADDRESS": "2"}) as base_url:
        # Given a client holding two sockets, its limit
        held = [_initialised(base_url, ONE_CLIENT) for _ in range(2)]
        try:
            # When it opens a third, that one is closed at the handshake with 1013
            code, reason = _refusal(base_url, ONE_CLIENT)
            assert code == 1013
            assert "your address has 2 WebSockets open here" in reason
            # And other clients are still served, over WebSockets and HTTP
            _still_serves(base_url)
            # And once it closes one of its sockets, it may open another
            held.pop().close()
            held.append(_admitted_soon(base_url, ONE_CLIENT))
            # And the refusal is counted for operators
            samples = scrape(base_url)
            assert (
                value(samples, "imagequeue_websockets_refused_total", reason="address_limit") >= 1
            )
            assert (
                value(samples, "imagequeue_websockets_refused_total", reason="process_limit") == 0
            )
            wait_for(
                lambda: value(scrape(base_url), "imagequeue_websockets_open") == 2,
                "the two sockets the client holds, and no other, counted as open",
            )
        finally:
            for socket in held:
                socket.close()


def test_the_server_as_a_whole_gets_its_limit(stack: Launcher) -> None:
    settings = {"MAX_WEBSOCKETS_PER_PROCESS": "3", "MAX_WEBSOCKETS_PER_ADDRESS": "100"}
    with _server(stack, settings) as base_url:
        # Given three clients with a socket each, the server's limit
        held = [_initialised(base_url, f"192.0.2.{n}") for n in range(1, 4)]
        try:
            # When a fourth client connects, it is told to try again later
            code, reason = _refusal(base_url, ANOTHER_CLIENT)
            assert code == 1013
            assert "this server has 3 WebSockets open" in reason
            assert (
                value(
                    scrape(base_url), "imagequeue_websockets_refused_total", reason="process_limit"
                )
                == 1
            )
            # And plain HTTP requests are still answered
            assert httpx.get(f"{base_url}/healthz").status_code == 200
            # And once one socket closes, the fourth client gets in
            held.pop().close()
            held.append(_admitted_soon(base_url, ANOTHER_CLIENT))
        finally:
            for socket in held:
                socket.close()
        wait_for(
            lambda: value(scrape(base_url), "imagequeue_websockets_open") == 0, "no socket open"
        )


def test_a_refused_socket_speaks_the_subprotocol_it_asked_for(stack: Launcher) -> None:
    # A browser fails a handshake whose answer names no subprotocol, and would then show
    # 1006 instead of the server's code and reason.
    with _server(stack, {"MAX_WEBSOCKETS_PER_ADDRESS": "1"}) as base_url:
        held = _initialised(base_url, ONE_CLIENT)
        try:
            for protocol in (TRANSPORT_WS, LEGACY_WS):
                refused = _socket(base_url, ONE_CLIENT, protocol)
                try:
                    assert refused.subprotocol == protocol
                    with pytest.raises(ConnectionClosed):
                        refused.recv(timeout=10)
                    assert refused.close_code == 1013
                finally:
                    refused.close()
        finally:
            held.close()


# --- the counting itself, without a server ------------------------------------------------


def test_each_cap_refuses_only_past_its_limit_and_a_close_makes_room() -> None:
    sockets = OpenWebSockets(max_per_process=3, max_per_address=2)
    assert sockets.open("a") is None and sockets.open("a") is None
    refusal = sockets.open("a")
    assert refusal is not None and refusal.reason == "address_limit"
    assert sockets.open("b") is None
    refusal = sockets.open("c")
    assert refusal is not None and refusal.reason == "process_limit"
    sockets.close("a")
    assert sockets.open("c") is None
    # Refused sockets were never counted: closing what was opened leaves nothing behind.
    for address in ("a", "b", "c"):
        sockets.close(address)
    assert sockets.open("a") is None and sockets.open("a") is None


@pytest.mark.parametrize(
    ("client", "address"),
    [
        (("203.0.113.7", 5000), "203.0.113.7"),
        (("2001:db8:1:2:aaaa::1", 5000), "2001:db8:1:2::/64"),
        (("2001:db8:1:2:bbbb::9", 5000), "2001:db8:1:2::/64"),
        (("2001:db8:1:3::1", 5000), "2001:db8:1:3::/64"),
        (("::ffff:203.0.113.7", 5000), "203.0.113.7"),
        (("fe80::1%eth0", 5000), "fe80::/64"),
        (None, ""),
    ],
)
def test_an_ipv6_client_counts_by_its_network(client: tuple[str, int] | None, address: str) -> None:
    assert client_address({"type": "websocket", "client": client}) == address
