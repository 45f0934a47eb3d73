"""GraphQL over WebSocket for tests: both protocols, spoken message by message."""

from __future__ import annotations

import json
import time
from typing import Any

from websockets.sync.client import ClientConnection, connect

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"

FINAL_STATUSES = ("COMPLETED", "FAILED", "DELETED")

UPDATES = (
    "subscription($ids: [ID!]) { imageUpdates(ids: $ids) "
    "{ id status progress stage error image { id thumbnailUrl } } }"
)


class Connection:
    """One initialised connection, in either protocol, for operations sent one by one."""

    def __init__(self, base_url: str, protocol: str) -> None:
        self.protocol = protocol
        url = base_url.replace("http://", "ws://") + "/graphql"
        self.socket: ClientConnection = connect(url, subprotocols=[protocol], open_timeout=10)  # type: ignore[list-item]
        self.socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        while self._receive(10)["type"] != "connection_ack":
            pass

    def start(
        self,
        operation_id: str,
        query: str,
        operation_name: str | None = None,
        variables: dict[str, Any] | None = None,
    ) -> None:
        """Send an operation: `subscribe` in graphql-transport-ws, `start` in graphql-ws."""
        payload: dict[str, Any] = {"query": query, "variables": variables or {}}
        if operation_name is not None:
            payload["operationName"] = operation_name
        start = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        self.socket.send(json.dumps({"id": operation_id, "type": start, "payload": payload}))

    def _receive(self, timeout_s: float) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(self.socket.recv(timeout=timeout_s))
        return message

    def next_message(self, timeout_s: float = 30) -> dict[str, Any]:
        """The next data, error or completion message within ``timeout_s``, skipping
        keep-alives and pings (which do not extend the wait)."""
        deadline = time.monotonic() + timeout_s
        while True:
            message = self._receive(max(deadline - time.monotonic(), 0))
            kind = message["type"]
            if kind == "ping":
                self.socket.send(json.dumps({"type": "pong"}))
            elif kind not in ("ka", "pong"):
                return message

    def close(self) -> None:
        self.socket.close()


class Subscription(Connection):
    """One subscription on its own connection, in either protocol."""

    def __init__(
        self,
        base_url: str,
        protocol: str,
        ids: list[str] | None = None,
        *,
        query: str = UPDATES,
        variables: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(base_url, protocol)
        self.start("1", query, variables={"ids": ids} if variables is None else variables)

    def next_update(self, timeout_s: float = 30) -> dict[str, Any] | None:
        """The next ``imageUpdates`` payload, or None when the server completed."""
        message = self.next_message(timeout_s)
        if message["type"] == "complete":
            return None
        assert message["type"] in ("next", "data"), message
        assert not message["payload"].get("errors"), message["payload"]
        data: dict[str, Any] = message["payload"]["data"]
        update: dict[str, Any] = data.get("imageUpdates") or next(iter(data.values()))
        return update

    def updates_until_complete(self, timeout_s: float = 60) -> list[dict[str, Any]]:
        updates = []
        while (update := self.next_update(timeout_s)) is not None:
            updates.append(update)
        return updates

    def updates_for(self, image_id: str, timeout_s: float = 60) -> list[dict[str, Any]]:
        """From an all-images stream: this image's updates up to its final one."""
        updates = []
        while True:
            update = self.next_update(timeout_s)
            assert update is not None, "an all-images subscription never completes"
            if update["id"] == image_id:
                updates.append(update)
                if update["status"] in FINAL_STATUSES:
                    return updates


def errors_in(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The GraphQL errors a subscription's message carries, in either protocol: an `error`
    message (a list in graphql-transport-ws, one error in graphql-ws) or a payload's."""
    if message["type"] == "error":
        payload = message["payload"]
        return payload if isinstance(payload, list) else [payload]
    assert message["type"] in ("next", "data"), message
    errors: list[dict[str, Any]] = message["payload"].get("errors") or []
    return errors


def assert_moves_forward(updates: list[dict[str, object]]) -> None:
    """Statuses never go back, and progress only rises."""
    order = {"PENDING": 0, "PROCESSING": 1, "COMPLETED": 2, "FAILED": 2, "DELETED": 3}
    ranks = [order[str(u["status"])] for u in updates]
    assert ranks == sorted(ranks), updates
    progress = [float(u["progress"]) for u in updates]  # type: ignore[arg-type]
    assert progress == sorted(progress), updates
