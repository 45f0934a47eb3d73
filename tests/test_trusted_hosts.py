"""A page that reaches the server by DNS rebinding can neither act on it nor read it.

The attack: a page on ``http://evil.example:8000`` whose name then resolves to 127.0.0.1.
Its requests go to the developer's local server as same-origin ones, carrying
``Host: evil.example:8000`` and ``Origin: http://evil.example:8000``, which the Origin
check takes for the server's own. The app runs in process here, with its real resources.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.types import Message
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin, Subprotocol

import cli.main
from infra.settings import Settings
from server.app import create_app
from tests.client import PREFLIGHT, UPLOAD_ONE, Api
from tests.images import photo
from tests.services import own_database_and_vhost, require_postgres, require_rabbitmq
from tests.ws import TRANSPORT_WS

REBOUND = "http://evil.example:8000"
"""Where a rebinding page was loaded from, and so where its requests say they go."""
REFUSAL = "host 'evil.example:8000' is not one this server answers to (see ALLOWED_HOSTS)"


@dataclass
class Running:
    app: Starlette
    http: httpx.AsyncClient


Serve = Callable[..., Awaitable[Running]]


@pytest.fixture(scope="module")
def services() -> Iterator[tuple[str, str]]:
    require_postgres()
    require_rabbitmq()
    with own_database_and_vhost() as urls:
        yield urls


@pytest.fixture
async def serve(services: tuple[str, str], tmp_path: Path) -> AsyncIterator[Serve]:
    """Starts the app in process, lifespan included, with ``settings`` over the module's
    database and vhost. Requests name their host in their URL, as a browser's do."""
    database_url, amqp_url = services
    async with contextlib.AsyncExitStack() as running:

        async def start(**settings: Any) -> Running:
            app = create_app(
                Settings(
                    _env_file=None,
                    database_url=database_url,
                    amqp_url=amqp_url,
                    storage_dir=tmp_path / "storage",
                    web_dir=tmp_path / "web",
                    **settings,
                )
            )
            await running.enter_async_context(app.router.lifespan_context(app))
            http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=30)
            await running.enter_async_context(http)
            return Running(app, http)

        yield start


async def _handshake(app: Starlette, host: str, origin: str) -> list[Message]:
    """What the app sends for a graphql-transport-ws handshake (and a client that then
    leaves), as uvicorn hands it over; httpx's transport speaks no WebSocket."""
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", host.encode()),
            (b"origin", origin.encode()),
            (b"sec-websocket-protocol", b"graphql-transport-ws"),
        ],
        "subprotocols": ["graphql-transport-ws"],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "extensions": {"websocket.http.response": {}},
    }
    incoming: asyncio.Queue[Message] = asyncio.Queue()
    incoming.put_nowait({"type": "websocket.connect"})
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "websocket.accept":
            incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})

    await asyncio.wait_for(app(scope, incoming.get, send), timeout=10)
    return sent


def _originals(tmp_path: Path) -> list[Path]:
    return sorted(p for p in (tmp_path / "storage").rglob("*") if p.is_file())


async def _rest_read(http: httpx.AsyncClient, base_url: str) -> httpx.Response:
    return await http.get(f"{base_url}/api/images", headers={"origin": base_url})


async def _rest_upload(http: httpx.AsyncClient, base_url: str) -> httpx.Response:
    return await http.post(
        f"{base_url}/api/upload",
        files={"image": ("x.jpg", photo(60, 40), "image/jpeg")},
        headers={"origin": base_url},
    )


async def _graphql_query(http: httpx.AsyncClient, base_url: str) -> httpx.Response:
    return await http.post(
        f"{base_url}/graphql",
        json={"query": "{ images { edges { node { id } } } }"},
        headers={"origin": base_url},
    )


async def _graphql_upload(http: httpx.AsyncClient, base_url: str) -> httpx.Response:
    return await http.post(
        f"{base_url}/graphql",
        data={
            "operations": json.dumps({"query": UPLOAD_ONE, "variables": {"f": None}}),
            "map": json.dumps({"0": ["variables.f"]}),
        },
        files={"0": ("x.jpg", photo(60, 40), "image/jpeg")},
        headers={"origin": base_url, **PREFLIGHT},
    )


Request = Callable[[httpx.AsyncClient, str], Awaitable[httpx.Response]]
REQUESTS = pytest.mark.parametrize(
    "send",
    [_rest_read, _rest_upload, _graphql_query, _graphql_upload],
    ids=["REST read", "REST upload", "GraphQL query", "GraphQL upload"],
)


@REQUESTS
async def test_a_rebinding_page_is_refused(serve: Serve, send: Request, tmp_path: Path) -> None:
    # Given a server with the default settings: bound to 127.0.0.1, as `make run` starts it
    http = (await serve()).http
    before = _originals(tmp_path)

    # When a rebinding page sends a request, which the Origin check takes for same-origin
    response = await send(http, REBOUND)

    # Then it is refused with a 400 in the API's JSON, and nothing is stored
    assert response.status_code == 400, response.text
    assert response.json() == {"error": REFUSAL, "errors": [{"message": REFUSAL}]}
    assert _originals(tmp_path) == before


@REQUESTS
async def test_the_developers_own_pages_and_tools_are_answered(serve: Serve, send: Request) -> None:
    http = (await serve()).http

    # The server's own page and curl, by any loopback name, and the web app's Vite dev
    # server, whose /graphql proxy passes on the page's Host (localhost:5173)
    own = ("http://localhost:8000", "http://127.0.0.1:8000", "http://[::1]:8000")
    for base_url in (*own, "http://localhost:5173"):
        response = await send(http, base_url)
        assert response.status_code in (200, 201), (base_url, response.text)
        assert "errors" not in response.json(), (base_url, response.text)


async def test_a_rebinding_page_cannot_open_a_subscription(serve: Serve) -> None:
    app = (await serve()).app

    refused = await _handshake(app, "evil.example:8000", REBOUND)
    assert refused[0]["type"] == "websocket.http.response.start"
    assert refused[0]["status"] == 400
    assert json.loads(refused[1]["body"])["errors"] == [{"message": REFUSAL}]

    # While the server's own page opens one as before
    accepted = await _handshake(app, "localhost:8000", "http://localhost:8000")
    assert accepted[0] == {
        "type": "websocket.accept",
        "subprotocol": "graphql-transport-ws",
        "headers": [],
    }


async def test_allowed_hosts_replaces_the_default(serve: Serve) -> None:
    # Given a server behind a proxy on its machine that forwards the public Host
    http = (await serve(allowed_hosts=["images.example.com", "*.cdn.example.com"])).http

    for base_url, status in [
        ("https://images.example.com", 200),
        ("https://eu.cdn.example.com", 200),
        ("http://localhost:8000", 400),  # the setting replaces the loopback names
        (REBOUND, 400),
    ]:
        response = await http.get(f"{base_url}/api/images")
        assert response.status_code == status, (base_url, response.text)


async def test_a_server_on_a_network_interface_answers_any_host_by_default(
    serve: Serve,
) -> None:
    # compose and the image run `serve --host 0.0.0.0`: clients, proxies and orchestrators
    # reach it by names it cannot know
    http = (await serve(host="0.0.0.0")).http

    for base_url in ("http://10.1.2.3:8000", "http://server:8000", "https://images.example.com"):
        for path in ("/healthz", "/readyz", "/api/images"):
            assert (await http.get(f"{base_url}{path}")).status_code == 200, (base_url, path)


@pytest.mark.parametrize(
    "settings", [{}, {"allowed_hosts": ["images.example.com"]}], ids=["default", "set"]
)
async def test_probes_answer_whatever_the_host(serve: Serve, settings: dict[str, Any]) -> None:
    # An orchestrator probes by the pod's address; Prometheus scrapes by address or name
    http = (await serve(**settings)).http

    for path in ("/healthz", "/readyz", "/metrics"):
        assert (await http.get(f"http://10.1.2.3:8000{path}")).status_code == 200, path
    assert (await http.get("http://10.1.2.3:8000/api/images")).status_code == 400


@pytest.mark.parametrize(
    ("serve_args", "status"), [([], 400), (["--host", "0.0.0.0"], 404)], ids=["HOST", "--host"]
)
async def test_serve_takes_its_default_from_the_address_it_binds(
    monkeypatch: pytest.MonkeyPatch, serve_args: list[str], status: int
) -> None:
    # compose and the image bind with `serve --host 0.0.0.0`, not with HOST
    served: list[Starlette] = []
    stand_in = socket.socket()
    monkeypatch.setattr(uvicorn.Server, "run", lambda server, **_: served.append(server.config.app))
    # Nothing is bound: the socket serve would listen on is a stand-in
    monkeypatch.setattr(cli.main, "_listening_socket", lambda *_: stand_in)
    monkeypatch.setattr(cli.main, "configure_logging", lambda **_: None)  # the test's own stays
    # The start-up check of PostgreSQL and RabbitMQ has its own tests (test_cli.py)
    monkeypatch.setattr(cli.main, "_services_problem", lambda *_, **__: None)
    monkeypatch.delenv("HOST", raising=False)
    monkeypatch.delenv("ALLOWED_HOSTS", raising=False)
    monkeypatch.chdir(Path(__file__).parent)  # away from a developer's .env

    cli.main.main(["serve", *serve_args])
    stand_in.close()

    transport = httpx.ASGITransport(app=served[0])
    async with httpx.AsyncClient(transport=transport) as http:
        # An unknown API path needs no database: 404 once past the host check
        response = await http.get("http://10.1.2.3:8000/api/nope")
    assert response.status_code == status, response.text


def test_uvicorn_refuses_a_rebinding_pages_handshake_with_a_400(api: Api) -> None:
    # The real server, bound to 127.0.0.1, reached under the rebinding page's name
    port = int(api.base_url.rsplit(":", 1)[1])
    rebound = f"http://evil.example:{port}"

    read = api.http.get("/api/images", headers={"host": f"evil.example:{port}"})
    assert read.status_code == 400, read.text

    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as sock,
        pytest.raises(InvalidStatus) as refused,
    ):
        connect(
            f"{rebound.replace('http', 'ws')}/graphql",
            sock=sock,
            origin=Origin(rebound),
            subprotocols=[Subprotocol(TRANSPORT_WS)],
            open_timeout=10,
        )
    assert refused.value.response.status_code == 400
