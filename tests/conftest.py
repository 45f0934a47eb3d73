"""Session-wide isolation: one fresh database, one fresh vhost, one storage dir per run.

Every test that crosses processes talks to a real server and a real worker started here
as subprocesses; they are stopped, and the database and vhost dropped, at the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from infra.db.migrate import migrate
from tests.client import Api
from tests.processes import Launcher, launcher
from tests.services import (
    create_database,
    create_vhost,
    delete_vhost,
    drop_database,
    require_postgres,
    require_rabbitmq,
)

TEST_MAX_UPLOAD_BYTES = 2 * 1024 * 1024


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    require_postgres()
    url = create_database()
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    require_rabbitmq()
    url = create_vhost()
    yield url
    delete_vhost(url)


@pytest.fixture(scope="session")
def service_env(
    database_url: str, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "AMQP_URL": amqp_url,
        "STORAGE_DIR": str(tmp_path_factory.mktemp("storage")),
        "MAX_UPLOAD_BYTES": str(TEST_MAX_UPLOAD_BYTES),
        "LOG_LEVEL": "INFO",
        # Off unless a test asks for it on a free port: workers of concurrent runs on this
        # machine would all want the default 9100.
        "WORKER_METRICS_PORT": "0",
        # Every stage, however quick: the tests of live progress look for each of them.
        "PROGRESS_INTERVAL_S": "0",
    }


@pytest.fixture(scope="session")
def stack(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Launcher]:
    """A server and a worker shared by the tests of the session."""
    with launcher(service_env, tmp_path_factory.mktemp("logs")) as running:
        running.start_worker()
        yield running


@pytest.fixture(scope="session")
def api(stack: Launcher, service_env: dict[str, str]) -> Iterator[Api]:
    _, base_url = stack.start_server()
    client = Api(base_url, Path(service_env["STORAGE_DIR"]))
    yield client
    client.close()


@pytest.fixture
async def connection() -> AsyncIterator[asyncpg.Connection]:
    """A connection to a fresh, migrated database of the test's own, dropped at the end."""
    require_postgres()
    # The helpers run their own event loop, so they go to a thread.
    url = await asyncio.to_thread(create_database)
    await migrate(url)
    connection = await asyncpg.connect(url)
    yield connection
    await connection.close()
    await asyncio.to_thread(drop_database, url)


@pytest.fixture
async def pool() -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh, migrated database of the test's own, dropped at the end."""
    require_postgres()
    url = await asyncio.to_thread(create_database)
    await migrate(url)
    created = await asyncpg.create_pool(url, min_size=1, max_size=4)
    assert created is not None
    yield created
    await created.close()
    await asyncio.to_thread(drop_database, url)
