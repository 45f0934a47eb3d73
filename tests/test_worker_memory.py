"""Compose's WORKER_MEM_LIMIT follows the memory rule docs/operations.md gives, which
`bench.worker_memory` measures (memory is measured there, not asserted in a test)."""

from __future__ import annotations

import re

import yaml

from infra.settings import Settings
from tests.processes import REPO_ROOT

MIB = 2**20
# The rule (docs/operations.md, Memory): per pool process 64 MiB + 18 bytes per pixel of
# MAX_IMAGE_PIXELS; the worker's own process and multiprocessing's helper 128 MiB.
POOL_PROCESS_BASE_BYTES = 64 * MIB
BYTES_PER_PIXEL = 18
WORKER_BASE_BYTES = 128 * MIB


def _compose_worker_mem_limit_bytes() -> int:
    compose = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())
    limit = compose["services"]["worker"]["mem_limit"]
    match = re.fullmatch(r"\$\{WORKER_MEM_LIMIT:-(\d+)([mg])\}", limit)
    assert match, limit
    return int(match[1]) * {"m": MIB, "g": 1024 * MIB}[match[2]]


def test_compose_gives_a_default_worker_room_for_its_pool_processes_at_their_peak() -> None:
    max_pixels: int = Settings.model_fields["max_image_pixels"].default
    concurrency: int = Settings.model_fields["worker_concurrency"].default
    needed = WORKER_BASE_BYTES + concurrency * (
        POOL_PROCESS_BASE_BYTES + BYTES_PER_PIXEL * max_pixels
    )

    assert _compose_worker_mem_limit_bytes() >= needed
    # and the docs state the same rule
    operations = (REPO_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    times = "\u00d7"
    rule = f"128 MiB + `WORKER_CONCURRENCY` {times} (64 MiB + 18 bytes {times} `MAX_IMAGE_PIXELS`)"
    assert rule in operations
