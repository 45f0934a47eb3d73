"""Nothing half-written stays: files a killed process was writing are removed.

Every file is written in storage's staging folder and renamed into place when whole. A
request that fails or is abandoned removes its own staging file, and so does a job that
fails; a server killed mid-upload, or a worker killed mid-rendition, cannot. Every server
instance sweeps at start and then periodically; a file still being written has a fresh
mtime, so only abandoned ones are old enough.
"""

from __future__ import annotations

import asyncio
import logging

from infra.storage import Storage
from server.background import BackgroundLoop

log = logging.getLogger(__name__)

ABANDONED_AFTER_S = 3600.0
"""A file nothing has written to for an hour (and for twice the job time limit, if that is
longer) counts as abandoned. Should an upload's client still send the rest, that upload
fails (its file is gone) rather than being stored."""
SWEEP_INTERVAL_S = 600.0


class StagingSweeper(BackgroundLoop):
    name = "staging-sweeper"

    def __init__(self, *, storage: Storage, job_timeout_s: float) -> None:
        self._storage = storage
        # A rendition's file may sit unwritten while its encoder runs, at most one job long.
        self._idle_for_s = max(ABANDONED_AFTER_S, 2 * job_timeout_s)

    async def run(self) -> None:
        while True:
            try:
                removed = await asyncio.to_thread(
                    self._storage.remove_abandoned_staging_files, self._idle_for_s
                )
            except Exception as exc:
                log.warning("staging sweep failed: %s", exc)
            else:
                if removed:
                    log.warning("removed abandoned staging files", extra={"files": removed})
            await asyncio.sleep(SWEEP_INTERVAL_S)
