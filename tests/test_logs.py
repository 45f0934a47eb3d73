"""Log formatting: one JSON object per line, facts as fields, readable on a terminal."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys

import pytest

from infra.logs import ConsoleFormatter, JsonFormatter, configure_logging
from tests.processes import REPO_ROOT


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
