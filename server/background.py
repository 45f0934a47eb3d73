"""A loop the server runs beside its requests for as long as it lives."""

from __future__ import annotations

import abc
import asyncio


class BackgroundLoop(abc.ABC):
    """``start()`` in the lifespan, ``stop()`` at shutdown; ``run()`` never returns."""

    name = "background-loop"
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=self.name)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    @abc.abstractmethod
    async def run(self) -> None: ...
