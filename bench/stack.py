"""What the end-to-end benchmarks share: an isolated stack, a lean HTTP client, live events.

Every run gets its own PostgreSQL database, RabbitMQ vhost and storage directory (the test
suite's helpers make and remove them), starts real ``imagequeue serve`` / ``worker``
subprocesses on 127.0.0.1, and removes all of it at the end, however the run ends.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import resource
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any, TypeVar

import PIL
from websockets.asyncio.client import ClientConnection, connect

from bench.photos import SEED, SIZES_PX, SOURCE_JPEG_QUALITY, make_photo
from tests.processes import Launcher, Process, launcher
from tests.services import (
    AMQP_HOST,
    AMQP_PORT,
    PG_PORT,
    create_database,
    create_vhost,
    delete_vhost,
    drop_database,
    port_open,
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
UPLOAD_MUTATION = "mutation ($file: Upload!) { uploadImage(file: $file) { id } }"
UPDATES_SUBSCRIPTION = "subscription { imageUpdates { id status occurredAt } }"
_CLK_TCK = os.sysconf("SC_CLK_TCK")
# Other test runs on this machine restart the shared RabbitMQ and PostgreSQL on purpose.
_RETRY_AFTER_S = 10.0

T = TypeVar("T")


# --- machine, statistics, results -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Machine:
    cpu_count: int | None
    mem_total_mib: int | None
    python: str
    pillow: str
    platform: str

    def line(self) -> str:
        mem = f"{self.mem_total_mib / 1024:.1f} GiB" if self.mem_total_mib else "unknown"
        return (
            f"machine: {self.cpu_count} CPUs (os.cpu_count), {mem} RAM, "
            f"Python {self.python}, Pillow {self.pillow}, {self.platform}"
        )


def read_machine() -> Machine:
    mem_total_mib: int | None = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_total_mib = int(line.split()[1]) // 1024
                break
    except OSError:
        pass
    return Machine(
        cpu_count=os.cpu_count(),
        mem_total_mib=mem_total_mib,
        python=platform.python_version(),
        pillow=PIL.__version__,
        platform=platform.platform(terse=True),
    )


def print_machine(note: str = "") -> Machine:
    machine = read_machine()
    print(machine.line())
    print(f"load average (1/5/15 min) at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if note:
        print(note)
    return machine


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, ``q`` from 0 to 100; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def write_results(name: str, report: dict[str, Any], results_dir: Path = RESULTS_DIR) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{name}.json"
    full = {
        "benchmark": f"bench.{name}",
        "command": " ".join(["python", "-m", f"bench.{name}", *sys.argv[1:]]),
        "machine": asdict(read_machine()),
        "load_average_1_5_15": list(os.getloadavg()),
        **report,
    }
    path.write_text(json.dumps(full, indent=2, default=str) + "\n")
    print(f"\nwrote {path}")
    return path


# --- photos -----------------------------------------------------------------------------


def photo_jpeg(size_px: tuple[int, int], seed: int) -> bytes:
    buffer = BytesIO()
    make_photo(size_px, seed).save(buffer, "JPEG", quality=SOURCE_JPEG_QUALITY)
    return buffer.getvalue()


def photo_set(megapixels: int, count: int, distinct: int) -> list[bytes]:
    """``count`` photo-like JPEGs cycling through ``distinct`` seeded ones.

    Making a 12 MP photo takes ~1.5 s, longer than processing it, so a run of 200 reuses a
    few distinct photos; each upload is still stored, decoded and rendered on its own.
    """
    size_px = SIZES_PX[megapixels]
    distinct = max(1, min(distinct, count))
    seeds = [SEED + megapixels * 1000 + index for index in range(distinct)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        unique = list(pool.map(photo_jpeg, [size_px] * distinct, seeds))
    return [unique[index % distinct] for index in range(count)]


# --- processes ----------------------------------------------------------------------------


def proc_memory_mib(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak over the process's life), in MiB."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # After the comm field: utime and stime are fields 14 and 15 of stat(5).
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def raise_open_files_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to the hard limit; children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass
class Stack:
    """One isolated database, vhost and storage directory, and the processes started on them."""

    env: dict[str, str]
    storage_dir: Path
    database_url: str
    log_dir: Path
    launcher: Launcher

    def start_server(self, extra_env: dict[str, str] | None = None) -> tuple[Process, str]:
        return self.launcher.start_server(extra_env)

    def start_worker(self, concurrency: int) -> Process:
        return self.launcher.start_worker(args=("--concurrency", str(concurrency)))

    def clear_storage(self) -> None:
        """Drop stored files between runs, so a long run does not fill the disk."""
        empty_dir(self.storage_dir)


def empty_dir(path: Path) -> None:
    """Remove everything in ``path``, keeping the directory itself."""
    for child in path.iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


@contextmanager
def isolated_stack(extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """A fresh database, vhost and storage directory; everything is removed at the end."""
    if not port_open("127.0.0.1", PG_PORT) or not port_open(AMQP_HOST, AMQP_PORT):
        raise SystemExit(
            f"PostgreSQL (127.0.0.1:{PG_PORT}) and RabbitMQ ({AMQP_HOST}:{AMQP_PORT}) must be "
            "running: bash .ci/services.sh start"
        )
    with tempfile.TemporaryDirectory(prefix="iq-bench-stack-") as root:
        storage_dir = Path(root) / "storage"
        log_dir = Path(root) / "logs"
        storage_dir.mkdir()
        log_dir.mkdir()
        database_url = create_database()
        try:
            amqp_url = create_vhost()
            try:
                env = {
                    "DATABASE_URL": database_url,
                    "AMQP_URL": amqp_url,
                    "STORAGE_DIR": str(storage_dir),
                    "LOG_LEVEL": "INFO",
                    "LOG_FORMAT": "json",
                    "WORKER_METRICS_PORT": "0",
                    **(extra_env or {}),
                }
                with launcher(env, log_dir) as running:
                    yield Stack(env, storage_dir, database_url, log_dir, running)
            finally:
                _patiently(delete_vhost, amqp_url)
        finally:
            _patiently(drop_database, database_url)


def _patiently(remove: Callable[[str], None], url: str, attempts: int = 6) -> None:
    """Clean up even if a service is in the middle of a restart."""
    for attempt in range(attempts):
        try:
            remove(url)
            return
        except Exception:
            if attempt == attempts - 1:
                raise
            time.sleep(_RETRY_AFTER_S)


async def retrying(run: Callable[[], Awaitable[T]], what: str, attempts: int = 3) -> T:
    """Run a round again when a service dropped out under it (and say so)."""
    for attempt in range(attempts):
        try:
            return await run()
        except (RuntimeError, OSError, TimeoutError) as exc:
            if attempt == attempts - 1:
                raise
            print(f"  {what} disturbed ({str(exc)[:120]}); retrying", flush=True)
            await asyncio.sleep(_RETRY_AFTER_S)
    raise AssertionError("unreachable")


# --- a lean HTTP/1.1 client ---------------------------------------------------------------


def multipart_upload(data: bytes, filename: str) -> tuple[bytes, str]:
    """A GraphQL multipart request body (``uploadImage``) and its content type."""
    boundary = f"iq-bench-{secrets.token_hex(8)}"
    operations = json.dumps({"query": UPLOAD_MUTATION, "variables": {"file": None}})
    file_map = json.dumps({"0": ["variables.file"]})
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
        f"{operations}\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{file_map}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="{filename}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return head + data + tail, f"multipart/form-data; boundary={boundary}"


class HttpConnection:
    """One keep-alive HTTP/1.1 connection that POSTs prepared bodies.

    httpx spends more CPU per request than the servers under test would on a 2-core
    machine; this client sends bytes it built once and reads a Content-Length response.
    """

    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(
        self, path: str, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        if self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        assert self._reader is not None
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
        ).encode()
        self._writer.write(head)
        self._writer.write(body)
        await self._writer.drain()
        status_line = await self._reader.readline()
        if not status_line:
            await self.close()
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length = 0
        close = False
        while (line := await self._reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                close = True
        payload = await self._reader.readexactly(length)
        if close:
            await self.close()
        return status, payload

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with suppress(OSError):
                await self._writer.wait_closed()
            self._writer = None


def host_port(base_url: str) -> tuple[str, int]:
    host, _, port = base_url.removeprefix("http://").partition(":")
    return host, int(port)


async def upload(connection: HttpConnection, body: bytes, content_type: str) -> int:
    """POST a prepared ``multipart_upload`` body to /graphql; the new image's id."""
    status, payload = await connection.post(
        "/graphql", body, content_type, {"Apollo-Require-Preflight": "true"}
    )
    answer = json.loads(payload)
    if status != 200 or answer.get("errors"):
        raise RuntimeError(f"upload failed: HTTP {status} {payload[:300]!r}")
    return int(answer["data"]["uploadImage"]["id"])


# --- live events --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Receipt:
    status: str
    occurred_at_s: float
    received_at_s: float


def parse_update(raw: str | bytes) -> tuple[str, int, str, float]:
    """A graphql-transport-ws message → (type, image id, status, occurredAt epoch s)."""
    message = json.loads(raw)
    if message["type"] != "next":
        return (message["type"], 0, "", 0.0)
    update = message["payload"]["data"]["imageUpdates"]
    occurred = datetime.fromisoformat(update["occurredAt"]).timestamp()
    return ("next", int(update["id"]), update["status"], occurred)


async def open_subscription(base_url: str, open_timeout_s: float = 30) -> ClientConnection:
    """A graphql-transport-ws connection subscribed to every image's updates."""
    socket = await connect(
        base_url.replace("http://", "ws://") + "/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        open_timeout=open_timeout_s,
        max_queue=None,
        compression=None,
    )
    await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
    while json.loads(await socket.recv())["type"] != "connection_ack":
        pass
    await socket.send(
        json.dumps({"id": "1", "type": "subscribe", "payload": {"query": UPDATES_SUBSCRIPTION}})
    )
    return socket


class EventWatcher:
    """Watches all images through ``imageUpdates`` and remembers when each final state came."""

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket
        self.finals: dict[int, Receipt] = {}
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._read(), name="event-watcher")

    @classmethod
    async def open(cls, base_url: str) -> EventWatcher:
        return cls(await open_subscription(base_url))

    async def _read(self) -> None:
        async for raw in self._socket:
            received_at_s = time.time()
            kind, image_id, status, occurred_at_s = parse_update(raw)
            if kind == "ping":
                await self._socket.send(json.dumps({"type": "pong"}))
            elif kind == "next" and status in ("COMPLETED", "FAILED"):
                self.finals[image_id] = Receipt(status, occurred_at_s, received_at_s)
                self._changed.set()

    async def wait_final(self, image_ids: Sequence[int], timeout_s: float) -> dict[int, Receipt]:
        deadline = time.monotonic() + timeout_s
        while not all(image_id in self.finals for image_id in image_ids):
            if self._task.done():
                self._task.result()
                raise RuntimeError("the subscription ended")
            self._changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                missing = [i for i in image_ids if i not in self.finals]
                raise TimeoutError(f"{len(missing)} images not final after {timeout_s} s")
            with suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        failed = [i for i in image_ids if self.finals[i].status != "COMPLETED"]
        if failed:
            raise RuntimeError(f"{len(failed)} images FAILED, e.g. {failed[:5]}")
        return {image_id: self.finals[image_id] for image_id in image_ids}

    async def close(self) -> None:
        self._task.cancel()
        with suppress(asyncio.CancelledError, Exception):
            await self._task
        await self._socket.close()
