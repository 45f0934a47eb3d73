"""The server's readiness and the outbox's metrics while the broker is away."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.images import photo
from tests.processes import server_behind_a_proxy
from tests.scraping import scrape, value, wait_for


def test_a_broker_outage_keeps_the_server_ready_and_shows_in_the_outbox_metrics(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    # Given a server (no worker) that reaches RabbitMQ through a proxy of this test's own
    with server_behind_a_proxy(service_env, tmp_path, "broker") as (server, api, proxy):
        assert httpx.get(f"{api.base_url}/readyz").json()["broker"] == "ok"
        assert value(scrape(api.base_url), "imagequeue_outbox_pending") == 0

        # When the broker becomes unreachable
        proxy.cut()
        wait_for(
            lambda: httpx.get(f"{api.base_url}/readyz").json()["broker"] != "ok",
            "/readyz to name the broker",
        )

        # Then the server stays in a load balancer's rotation, naming the broker as down
        ready = httpx.get(f"{api.base_url}/readyz")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["status"] == "ok" and body["broker"].startswith("down")
        assert body["database"] == "ok" and body["storage"] == "ok"
        # And it takes uploads, whose jobs wait in the outbox, which its metrics show
        api.upload("during.jpg", photo())
        wait_for(
            lambda: value(scrape(api.base_url), "imagequeue_outbox_oldest_age_seconds") >= 1,
            "the oldest outbox entry to age",
        )
        assert value(scrape(api.base_url), "imagequeue_outbox_pending") == 1

        # When the broker is back, the outbox drains
        proxy.restore()
        wait_for(
            lambda: value(scrape(api.base_url), "imagequeue_outbox_pending") == 0,
            "the outbox to drain",
            timeout_s=60,
        )
        assert value(scrape(api.base_url), "imagequeue_outbox_oldest_age_seconds") == 0
        assert httpx.get(f"{api.base_url}/readyz").json()["broker"] == "ok"

        # And the outage was told once in the log, not once per retry, and with no error line
        log = server.log()
        assert log.count("outbox relay failed") == 1, log
        assert log.count("event listener disconnected") <= 1, log
        assert "outbox relay publishing again" in log
        assert '"level": "error"' not in log and "ChannelInvalidStateError" not in log, log
