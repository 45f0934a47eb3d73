"""Restarting the real services, with the same script CI uses to start them."""

from __future__ import annotations

import subprocess

from tests.processes import REPO_ROOT


def services(action: str) -> None:
    subprocess.run(["bash", str(REPO_ROOT / ".ci/services.sh"), action], check=True, timeout=180)


def restart_rabbitmq() -> None:
    try:
        services("stop-rabbitmq")
    finally:
        # Always leave the broker running for whatever runs next.
        services("start-rabbitmq")
