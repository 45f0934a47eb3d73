"""Stopping and restarting the real services, with the same script CI uses to start them.

Every helper leaves the service running when it returns, whatever happened inside.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from tests.processes import REPO_ROOT


def services(action: str) -> None:
    subprocess.run(["bash", str(REPO_ROOT / ".ci/services.sh"), action], check=True, timeout=180)


@contextmanager
def rabbitmq_stopped() -> Iterator[None]:
    try:
        services("stop-rabbitmq")
        yield
    finally:
        services("start-rabbitmq")


@contextmanager
def postgres_stopped() -> Iterator[None]:
    try:
        services("stop-postgres")
        yield
    finally:
        services("start-postgres")


def restart_rabbitmq() -> None:
    with rabbitmq_stopped():
        pass


def restart_postgres() -> None:
    with postgres_stopped():
        pass
