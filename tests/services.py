"""Fresh, isolated PostgreSQL databases and RabbitMQ vhosts for a test run, removed after."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from urllib.parse import quote

import asyncpg
import pytest

CI = bool(os.environ.get("CI"))
# Overridable so a run can use private instances (docs/benchmarks.md shows how).
PG_PORT = int(os.environ.get("TEST_PG_PORT", "5432"))
PG_ADMIN_DSN = os.environ.get(
    "TEST_PG_ADMIN_DSN", f"postgresql://postgres@127.0.0.1:{PG_PORT}/postgres"
)
AMQP_HOST = os.environ.get("TEST_AMQP_HOST", "127.0.0.1")
AMQP_PORT = int(os.environ.get("TEST_AMQP_PORT", "5672"))
RABBITMQ_NODE = os.environ.get("TEST_RABBITMQ_NODE")


def require(service: str, reachable: bool, hint: str) -> None:
    """Fail under CI, skip elsewhere: a missing service must never count as a pass in CI."""
    if reachable:
        return
    message = f"{service} is not reachable ({hint}); start it with: bash .ci/services.sh start"
    if CI:
        pytest.fail(message)
    pytest.skip(message)


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def require_postgres() -> None:
    require("PostgreSQL", port_open("127.0.0.1", PG_PORT), f"127.0.0.1:{PG_PORT}")


def require_rabbitmq() -> None:
    require("RabbitMQ", port_open(AMQP_HOST, AMQP_PORT), f"{AMQP_HOST}:{AMQP_PORT}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def unique_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"


async def _execute_as_admin(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _admin(sql: str) -> None:
    """Run ``sql`` as the admin, also from a test whose thread has a running event loop
    (Playwright's sync API keeps one), where ``asyncio.run`` refuses to start."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, _execute_as_admin(sql)).result()


def create_database() -> str:
    name = unique_name("imagequeue_test")
    _admin(f'CREATE DATABASE "{name}"')
    return f"postgresql://postgres@127.0.0.1:{PG_PORT}/{name}"


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[-1]
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def login_role() -> Iterator[str]:
    """A role that can log in and has no other right (no CREATEDB, no grants on any table);
    dropped at the end."""
    name = unique_name("imagequeue_role")
    _admin(f'CREATE ROLE "{name}" LOGIN')
    try:
        yield name
    finally:
        _admin(f'DROP ROLE IF EXISTS "{name}"')


_RABBITMQCTL_UNAVAILABLE = 69


def _rabbitmqctl(*args: str) -> None:
    node = ["-n", RABBITMQ_NODE] if RABBITMQ_NODE else []
    # A fault test may have just restarted the broker: give it time to come back.
    deadline = time.monotonic() + 60
    while True:
        result = subprocess.run(
            ["rabbitmqctl", "-q", *node, *args], capture_output=True, timeout=60
        )
        if result.returncode != _RABBITMQCTL_UNAVAILABLE or time.monotonic() > deadline:
            break
        time.sleep(1)
    result.check_returncode()


def create_vhost() -> str:
    vhost = unique_name("imagequeue-test")
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    return f"amqp://guest:guest@{AMQP_HOST}:{AMQP_PORT}/{quote(vhost, safe='')}"


def delete_vhost(url: str) -> None:
    from urllib.parse import unquote

    _rabbitmqctl("delete_vhost", unquote(url.rsplit("/", 1)[-1]))


@contextmanager
def own_database_and_vhost() -> Iterator[tuple[str, str]]:
    """A fresh database and vhost (their URLs), both removed at the end whatever failed."""
    database_url = create_database()
    try:
        amqp_url = create_vhost()
        try:
            yield database_url, amqp_url
        finally:
            delete_vhost(amqp_url)
    finally:
        drop_database(database_url)
