"""The worker's small HTTP listener: ``/metrics`` for Prometheus, ``/readyz`` for orchestrators.

It runs on the worker's own event loop, so ``/readyz`` can use the worker's pool and broker
connection directly. prometheus_client's ``start_http_server`` would serve ``/metrics`` from a
thread but could not answer readiness from the loop. Only GET of these two paths is served;
every response closes the connection, which Prometheus and health checkers handle.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
from collections.abc import Awaitable, Callable

import asyncpg
from aio_pika.abc import AbstractChannel, AbstractConnection

from infra import metrics
from infra.health import OK, check_broker, check_database, check_storage, report
from infra.settings import Settings
from infra.storage import Storage

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[tuple[int, dict[str, str]]]]

_REQUEST_TIMEOUT_S = 5.0
_MAX_HEADER_BYTES = 16 * 1024
_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


class MetricsListenerUnavailable(Exception):
    """The listener cannot bind; the message names the setting to change, since the usual
    cause is a second worker (or node_exporter, also on 9100) on the same host."""


class MetricsServer:
    """Listens from ``start()`` until ``close()``."""

    def __init__(self, *, host: str, port: int, readiness: ReadinessCheck) -> None:
        self._host = host
        self._port = port
        self._readiness = readiness
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        # Binding fails loudly (OSError): a worker nobody can monitor should not start quietly.
        self._server = await asyncio.start_server(self._handle, self._host, self._port)
        log.info("worker metrics listening", extra={"host": self._host, "port": self.port})

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def port(self) -> int:
        """The bound port (differs from the configured one when that was 0)."""
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_REQUEST_TIMEOUT_S):
                head = await reader.readuntil(b"\r\n\r\n")
            if len(head) > _MAX_HEADER_BYTES:
                return
            method, path = _request_line(head)
            status, content_type, body = await self._respond(method, path)
            writer.write(
                f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
                f"Content-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode("latin-1")
                + (b"" if method == "HEAD" else body)
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass  # a client that hangs up or never finishes its request gets nothing
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _respond(self, method: str, path: str) -> tuple[int, str, bytes]:
        if method not in ("GET", "HEAD"):
            return 405, "text/plain", b"method not allowed\n"
        path = path.split("?", 1)[0]
        if path == "/metrics":
            return 200, metrics.CONTENT_TYPE, metrics.render()
        if path == "/readyz":
            status, body = await self._readiness()
            return status, "application/json", json.dumps(body).encode()
        return 404, "text/plain", b"not found\n"


def _request_line(head: bytes) -> tuple[str, str]:
    parts = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
    if len(parts) != 3:
        return "", ""
    return parts[0], parts[1]


async def start_metrics_server(
    settings: Settings,
    *,
    pool: asyncpg.Pool,
    connection: AbstractConnection,
    channel: AbstractChannel,
    storage: Storage,
    processes: Callable[[], str] = lambda: OK,
) -> MetricsServer | None:
    """The worker's listener; None if port 0.

    Ready when its database pool answers, its broker connection is connected and the
    channel it consumes on open, a file can be written to its storage, and its process
    pool (``processes``, "ok" or "down: <why>") can take a job.
    """
    if settings.worker_metrics_port == 0:
        return None

    async def readiness() -> tuple[int, dict[str, str]]:
        database, storage_state = await asyncio.gather(check_database(pool), check_storage(storage))
        checks = {
            "database": database,
            "broker": check_broker(connection, channel),
            "storage": storage_state,
        }
        processes_state = processes()
        if processes_state != OK:
            # Named only when down, so the healthy answer keeps the shape monitors compare.
            checks["processes"] = processes_state
        return report(checks)

    host, port = settings.worker_metrics_host, settings.worker_metrics_port
    server = MetricsServer(host=host, port=port, readiness=readiness)
    try:
        await server.start()
    except OSError as exc:
        raise MetricsListenerUnavailable(_why_unavailable(host, port, exc)) from exc
    return server


def _why_unavailable(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"worker metrics port {port} is in use: "
            "set WORKER_METRICS_PORT to a free port, or 0 for none"
        )
    # A host that is not this machine's, or a port below 1024 without the right to bind it.
    # asyncio's own wording repeats the address; the errno's text is the news.
    reason = os.strerror(exc.errno) if exc.errno and exc.errno > 0 else exc.strerror or str(exc)
    return (
        f"worker metrics cannot listen on {host}:{port} ({reason}): "
        "check WORKER_METRICS_HOST and WORKER_METRICS_PORT, or set WORKER_METRICS_PORT to 0 "
        "for none"
    )
