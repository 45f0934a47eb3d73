"""Data outlives the server: stop and start it twice against the same database."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.client import Api
from tests.images import photo
from tests.processes import Launcher, Process


def _stop_gracefully(server: Process) -> None:
    # uvicorn re-raises SIGTERM after its graceful shutdown, so the status names the signal.
    assert server.stop() in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in server.log()


def test_data_survives_two_server_restarts(stack: Launcher, service_env: dict[str, str]) -> None:
    server, base_url = stack.start_server()
    api = Api(base_url, Path(service_env["STORAGE_DIR"]))
    image = api.wait_final(api.upload("keep.jpg", photo())["id"])
    api.close()
    _stop_gracefully(server)

    for _ in range(2):
        # Each start applies migrations again; they must find nothing to do.
        server, base_url = stack.start_server()
        api = Api(base_url, Path(service_env["STORAGE_DIR"]))
        again = api.image(image["id"])
        assert again is not None
        assert again["status"] == "COMPLETED"
        assert again["thumbnailSize"] == image["thumbnailSize"]
        api.close()
        _stop_gracefully(server)
