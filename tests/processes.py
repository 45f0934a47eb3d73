"""Real server and worker processes for tests that cross process boundaries."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

from tests.client import Api
from tests.services import AMQP_HOST, AMQP_PORT, PG_PORT, free_port, own_database_and_vhost
from tests.tcp_proxy import TcpProxy, proxied

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout_s: float = 20) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()

    def pool_processes(self) -> list[int]:
        """The process ids of its multiprocessing pool (children started by ``spawn``)."""
        pids: list[int] = []
        for children in Path(f"/proc/{self.popen.pid}/task").glob("*/children"):
            for pid in children.read_text().split():
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                if b"spawn_main" in cmdline:
                    pids.append(int(pid))
        return pids


@dataclass
class Launcher:
    """Starts ``imagequeue`` subcommands with one environment; stops them all at the end."""

    env: dict[str, str]
    log_dir: Path
    started: list[Process] = field(default_factory=list)

    def start(
        self,
        name: str,
        *args: str,
        extra_env: dict[str, str] | None = None,
        module: str = "cli",
    ) -> Process:
        """Run ``python -m module *args``: by default an ``imagequeue`` subcommand."""
        log_path = self.log_dir / f"{name}-{len(self.started)}.log"
        with log_path.open("wb") as log_file:
            popen = subprocess.Popen(
                [sys.executable, "-m", module, *args],
                cwd=REPO_ROOT,
                env={**os.environ, **self.env, **(extra_env or {})},
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        process = Process(name, popen, log_path)
        self.started.append(process)
        return process

    def start_server(
        self, extra_env: dict[str, str] | None = None, *, port: int | None = None
    ) -> tuple[Process, str]:
        """A server on ``port`` (a restart reuses the last one's), by default a free one."""
        port = port or free_port()
        process = self.start("server", "serve", "--port", str(port), extra_env=extra_env)
        base_url = f"http://127.0.0.1:{port}"
        wait_healthy(base_url, process)
        return process, base_url

    def start_worker(
        self, extra_env: dict[str, str] | None = None, *, args: Sequence[str] = ()
    ) -> Process:
        process = self.start("worker", "worker", *args, extra_env=extra_env)
        deadline = time.monotonic() + 30
        while "consuming" not in process.log():
            if process.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{process.log()}")
            time.sleep(0.1)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.started):
            process.stop()


def wait_healthy(base_url: str, process: Process, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited:\n{process.log()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{process.name} not healthy after {timeout_s} s:\n{process.log()}")


@contextmanager
def launcher(env: dict[str, str], log_dir: Path) -> Iterator[Launcher]:
    running = Launcher(env, log_dir)
    try:
        yield running
    finally:
        running.stop_all()


@dataclass
class OwnServer:
    """A server on a database, vhost and storage of its own, and the launcher that started it.

    The session's shared worker never sees its jobs; a test starts its own if it needs one.
    """

    launcher: Launcher
    env: dict[str, str]
    server: Process
    api: Api
    storage: Path


@contextmanager
def own_server(
    service_env: dict[str, str], tmp_path: Path, settings: dict[str, str]
) -> Iterator[OwnServer]:
    """A server started with ``settings`` on top of the session's environment."""
    storage = tmp_path / "storage"
    with own_database_and_vhost() as (database_url, amqp_url):
        env = {
            **service_env,
            "DATABASE_URL": database_url,
            "AMQP_URL": amqp_url,
            "STORAGE_DIR": str(storage),
            **settings,
        }
        with launcher(env, tmp_path) as running:
            server, base_url = running.start_server()
            api = Api(base_url, storage)
            try:
                yield OwnServer(running, env, server, api, storage)
            finally:
                api.close()


@contextmanager
def server_behind_a_proxy(
    service_env: dict[str, str], tmp_path: Path, service: Literal["database", "broker"]
) -> Iterator[tuple[Process, Api, TcpProxy]]:
    """A server (no worker) on a database and vhost of its own that reaches ``service``
    through a proxy the test can cut: an outage for that server alone, while the shared
    PostgreSQL and RabbitMQ keep serving every other test."""
    host, port = ("127.0.0.1", PG_PORT) if service == "database" else (AMQP_HOST, AMQP_PORT)
    name = "DATABASE_URL" if service == "database" else "AMQP_URL"
    with own_database_and_vhost() as (database_url, amqp_url):
        urls = {"DATABASE_URL": database_url, "AMQP_URL": amqp_url}
        with proxied(urls[name], host, port) as (through_proxy, proxy):
            env = {
                **service_env,
                **urls,
                name: through_proxy,
                "STORAGE_DIR": str(tmp_path / "storage"),
            }
            with launcher(env, tmp_path) as running:
                server, base_url = running.start_server()
                api = Api(base_url, tmp_path / "storage")
                try:
                    yield server, api, proxy
                finally:
                    api.close()
