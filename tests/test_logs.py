"""Log formatting: one JSON object per line, facts as fields, readable on a terminal."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from infra.db.migrate import migrate
from infra.logs import ConsoleFormatter, JsonFormatter, configure_logging
from tests.processes import REPO_ROOT, launcher
from tests.scraping import wait_for
from tests.services import AMQP_HOST, AMQP_PORT, own_database_and_vhost
from tests.tcp_proxy import proxied


def _record(
    name: str, msg: str, args: tuple[object, ...] = (), **extra: object
) -> logging.LogRecord:
    record = logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_line_carries_extra_fields_and_greps_by_image_id() -> None:
    line = JsonFormatter().format(_record("worker.consumer", "job %s", ("completed",), image_id=42))
    assert "\n" not in line
    assert '"image_id": 42' in line
    parsed = json.loads(line)
    assert parsed["msg"] == "job completed"
    assert parsed["level"] == "info"
    assert parsed["logger"] == "worker.consumer"
    assert parsed["image_id"] == 42


def _documented_log_greps() -> list[list[str]]:
    """Every ``grep`` for an image's log lines in the README and docs/operations.md, as a
    command for image 42."""
    recipe = re.compile(r"grep (-E )?'([^']*\"image_id\"[^']*)'")
    return [
        ["grep", *(["-E"] if match[1] else []), match[2].replace("<id>", "42")]
        for doc in ("README.md", "docs/operations.md")
        for match in recipe.finditer((REPO_ROOT / doc).read_text(encoding="utf-8"))
    ]


def test_the_documented_log_grep_finds_every_line_of_the_image_and_no_other() -> None:
    formatter = JsonFormatter()
    about_42 = [
        formatter.format(_record("worker.consumer", "job completed", image_id=42, outcome="ok")),
        # Last field: the server's "image deleted", the sweeper's "requeued a stuck image"
        formatter.format(_record("server.service", "image deleted", image_id=42)),
    ]
    about_420 = formatter.format(_record("server.service", "image deleted", image_id=420))
    commands = _documented_log_greps()

    assert len(commands) >= 3, commands
    for command in commands:
        found = subprocess.run(
            command, input="\n".join([*about_42, about_420]) + "\n", capture_output=True, text=True
        )
        assert found.stdout.splitlines() == about_42, command


def test_json_keeps_a_multiline_traceback_on_one_line() -> None:
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert "ValueError: boom" in json.loads(line)["exc"]


def test_uvicorn_access_lines_become_fields() -> None:
    record = _record(
        "uvicorn.access",
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/readyz", "1.1", 200),
    )
    parsed = json.loads(JsonFormatter().format(record))
    assert parsed["method"] == "GET"
    assert parsed["path"] == "/readyz"
    assert parsed["status"] == 200


def test_console_format_is_one_readable_line() -> None:
    text = ConsoleFormatter().format(_record("server.service", "upload accepted", image_id=7))
    assert text.endswith("server.service: upload accepted image_id=7")
    assert not text.startswith("{")


@pytest.mark.parametrize(
    ("log_format", "expected"), [("json", JsonFormatter), ("console", ConsoleFormatter)]
)
def test_log_format_override_wins(log_format: str, expected: type) -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        configure_logging(level="debug", log_format=log_format)  # type: ignore[arg-type]
        [handler] = root.handlers
        assert isinstance(handler.formatter, expected)
        assert root.level == logging.DEBUG
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def _json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            lines.append(json.loads(line))
    return lines


def test_a_broker_outage_is_a_few_lines_not_two_a_second(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    # Given a worker of its own that reaches RabbitMQ through a proxy this test can cut
    with (
        own_database_and_vhost() as (database_url, amqp_url),
        proxied(amqp_url, AMQP_HOST, AMQP_PORT) as (proxied_url, proxy),
        launcher(service_env, tmp_path) as running,
    ):
        asyncio.run(migrate(database_url))
        env = {"DATABASE_URL": database_url, "AMQP_URL": proxied_url, "LOG_FORMAT": "json"}
        worker = running.start_worker(env)

        # When the broker is unreachable for 8 s (8 reconnect attempts), then back
        proxy.cut()
        wait_for(lambda: "broker connection lost" in worker.log(), "the outage is logged")
        time.sleep(8)
        proxy.restore()
        wait_for(lambda: "broker connection restored" in worker.log(), "the reconnect is logged")

        lines = _json_lines(worker.log())

    # Then the worker says once that the connection is lost and once that it is back,
    ours = [line for line in lines if line["logger"] == "infra.broker.connection"]
    assert [(line["level"], line["msg"].split(" (")[0]) for line in ours] == [
        ("warning", "broker connection lost"),
        ("info", "broker connection restored"),
    ]
    assert "reconnecting every 1.0 s" in ours[0]["msg"]
    # and nothing repeats while it lasts: the client libraries' line per failed reconnect
    # attempt (an error and a warning a second) is left out. aio-pika's own lines about the
    # channels the loss closed all come at its first moment.
    lost_at, restored_at = (datetime.fromisoformat(line["ts"]) for line in ours)
    during = [
        line
        for line in lines
        if lost_at + timedelta(seconds=1) < datetime.fromisoformat(line["ts"]) < restored_at
    ]
    assert during == []
