"""Nothing half-uploaded stays: staging files of uploads cut off by a crash are removed.

A request that fails or is abandoned removes its own staging file; a server process that
is killed mid-upload cannot. Every server instance sweeps at start and then periodically;
a file still being written has a fresh mtime, so only abandoned ones are old enough.
"""

from __future__ import annotations

import asyncio
import logging

from infra.storage import Storage
from server.background import BackgroundLoop

log = logging.getLogger(__name__)

ABANDONED_AFTER_S = 3600.0
"""An upload that has written nothing for an hour counts as abandoned. Should its client
still send the rest, that upload fails (its file is gone) rather than being stored."""
SWEEP_INTERVAL_S = 600.0


class StagingSweeper(BackgroundLoop):
    name = "staging-sweeper"

    def __init__(self, *, storage: Storage) -> None:
        self._storage = storage

    async def run(self) -> None:
        while True:
            try:
                removed = await asyncio.to_thread(
                    self._storage.remove_abandoned_staging_files, ABANDONED_AFTER_S
                )
            except Exception as exc:
                log.warning("staging sweep failed: %s", exc)
            else:
                if removed:
                    log.warning("removed abandoned upload staging files", extra={"files": removed})
            await asyncio.sleep(SWEEP_INTERVAL_S)
