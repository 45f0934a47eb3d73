"""Caps on the GraphQL WebSockets one server process holds: in all, and per client address.

Each open socket holds a task, buffers and a file descriptor for as long as its client
keeps it, so without a cap one client could open thousands and use up the process. A
socket over either cap is accepted and at once closed with 1013 ("try again later", RFC
6455) and a reason. Not refused before the handshake: a browser reads neither the status
of a refused handshake nor a close sent before accept (it sees 1006 for both). graphql-ws,
the web app's client, retries after 1013 with its backoff, and so does the CLI's
``upload --wait``, whereas graphql-ws gives up for good after some graphql-transport-ws
codes, 4429 among them.

The client address is the ASGI scope's ``client``. Behind a reverse proxy whose address is
in ``FORWARDED_ALLOW_IPS``, uvicorn has put there the client's address from the proxy's
``X-Forwarded-For``; behind any other proxy every client counts as the proxy. An IPv6
client counts by its /64, the smallest network a subscriber is given, so that stepping
through its own addresses does not get around the cap.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from contextlib import suppress
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from infra.metrics import WEBSOCKETS_OPEN, WEBSOCKETS_REFUSED

TRY_AGAIN_LATER = 1013
"""RFC 6455's close code for a server that cannot take the connection now."""

_IPV6_CLIENT_PREFIX = 64


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: str
    """The metric's label: ``process_limit`` or ``address_limit``."""
    message: str
    """The close frame's reason (at most 123 bytes)."""


class OpenWebSockets:
    """How many sockets are open, in all and per address; a socket over a cap is refused."""

    def __init__(self, *, max_per_process: int, max_per_address: int) -> None:
        self.max_per_process = max_per_process
        self.max_per_address = max_per_address
        self._total = 0
        # Only addresses with a socket open, so the map is as small as the sockets allow.
        self._by_address: dict[str, int] = {}

    def open(self, address: str) -> Refusal | None:
        """Count a socket of ``address`` as open, or say why it may not be."""
        if self._total >= self.max_per_process:
            return Refusal(
                "process_limit",
                f"this server has {self.max_per_process} WebSockets open, its limit; "
                "try again later",
            )
        held = self._by_address.get(address, 0)
        if held >= self.max_per_address:
            return Refusal(
                "address_limit",
                f"your address has {self.max_per_address} WebSockets open here, the limit; "
                "try again later",
            )
        self._total += 1
        self._by_address[address] = held + 1
        WEBSOCKETS_OPEN.inc()
        return None

    def close(self, address: str) -> None:
        """The socket of ``address`` that ``open`` counted has ended."""
        self._total -= 1
        left = self._by_address.pop(address) - 1
        if left:
            self._by_address[address] = left
        WEBSOCKETS_OPEN.dec()


def client_address(scope: Scope) -> str:
    """The address a socket counts against: the client's IP, an IPv6 one as its /64."""
    client = scope.get("client")
    host: str = client[0] if client else ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host  # No IP: the peer of a Unix socket, or none known.
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        # By its integer: a link-local address's "%zone" would not make a network.
        return str(ipaddress.IPv6Network((int(ip), _IPV6_CLIENT_PREFIX), strict=False))
    return str(ip)


class WebSocketLimitMiddleware:
    """Counts each WebSocket of ``app`` while it is open, and refuses those over a cap.

    ``subprotocols`` are the ones ``app`` speaks: a refused socket is accepted with the
    first of them the client offers, since a browser fails a handshake whose answer names
    no subprotocol when it asked for some, and then shows 1006 instead of our code.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_per_process: int,
        max_per_address: int,
        subprotocols: Collection[str],
    ) -> None:
        self.app = app
        self.sockets = OpenWebSockets(
            max_per_process=max_per_process, max_per_address=max_per_address
        )
        self.subprotocols = subprotocols

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        address = client_address(scope)
        refusal = self.sockets.open(address)
        if refusal is not None:
            WEBSOCKETS_REFUSED.labels(refusal.reason).inc()
            await self._refuse(WebSocket(scope, receive, send), refusal)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.sockets.close(address)

    async def _refuse(self, websocket: WebSocket, refusal: Refusal) -> None:
        offered = websocket.scope.get("subprotocols", [])
        subprotocol = next((p for p in offered if p in self.subprotocols), None)
        # A client that left meanwhile needs no answer.
        with suppress(WebSocketDisconnect):
            await websocket.accept(subprotocol)
            await websocket.close(TRY_AGAIN_LATER, refusal.message)
