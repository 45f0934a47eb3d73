"""The retry policy: which failures are worth another attempt, and how long to wait."""

from __future__ import annotations

import math
import random
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import asyncpg

from infra.db.availability import DATABASE_UNAVAILABLE
from infra.storage import InvalidKey, StorageError

ATTEMPT_HEADER = "x-imagequeue-attempt"
"""On a job message: attempts already made, so the count survives a database outage."""

DATABASE_WAITS_HEADER = "x-imagequeue-database-waits"
"""On a job message: times in a row it waited, without using an attempt, for the database or
the storage to come back (named before storage waits were; kept for messages in flight)."""


# A closed or unreachable database, a full or unmounted disk, a pool process that died:
# the same job may well succeed a moment later. Everything else (PermanentImageError and
# plain bugs) is decided at once.
_TRANSIENT = (*DATABASE_UNAVAILABLE, OSError, StorageError, BrokenProcessPool)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, _TRANSIENT) and not isinstance(exc, InvalidKey)


def database_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, DATABASE_UNAVAILABLE)


def transient_reason(exc: BaseException) -> str:
    """A small fixed set, for the retry counter's label."""
    if isinstance(exc, BrokenProcessPool):
        return "worker_crash"
    if isinstance(exc, StorageError):
        return "storage"
    if isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError):
        return "database"
    return "connection"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0

    def backoff_s(self, attempt: int, *, rng: random.Random | None = None) -> float:
        """Delay before attempt ``attempt + 1``: exponential, capped, with jitter.

        Jitter takes the delay from the upper half of the window, so retries of a burst of
        failures spread out while each still waits at least half its backoff.
        """
        window_s = min(self.max_delay_s, self.base_delay_s * 2.0 ** (attempt - 1))
        fraction: float = (rng or random).random()
        return window_s * (0.5 + 0.5 * fraction)

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts

    def wait_attempt(self, waits: int) -> int:
        """The attempt number whose backoff (and retry queue) the ``waits``-th wait for the
        database shares: ``waits`` itself, up to the first attempt whose backoff is capped.

        Waits grow as retries do, without a retry queue per wait: past the cap every wait
        has the same delay, and so can share that attempt's queue.
        """
        capped = math.ceil(math.log2(self.max_delay_s / self.base_delay_s)) + 1
        return max(1, min(waits, capped))
