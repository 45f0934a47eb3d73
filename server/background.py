"""A loop the server runs beside its requests for as long as it lives."""

from __future__ import annotations

import abc
import asyncio
import contextlib

STOP_TIMEOUT_S = 5.0


class BackgroundLoop(abc.ABC):
    """``start()`` in the lifespan, ``stop()`` at shutdown; ``run()`` never returns."""

    name = "background-loop"
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=self.name)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            # A loop cancelled while closing a connection to a broker that is away would
            # wait for the broker; shutdown goes on without it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(self._task, return_exceptions=True), STOP_TIMEOUT_S
                )

    @abc.abstractmethod
    async def run(self) -> None: ...
