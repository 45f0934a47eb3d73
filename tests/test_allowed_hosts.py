"""ALLOWED_HOSTS: the patterns it takes and its default (infra/allowed_hosts.py)."""

from __future__ import annotations

import json

import pytest

from infra.allowed_hosts import LOOPBACK_HOSTS, default_allowed_hosts
from infra.settings import Settings


@pytest.mark.parametrize("bind_host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_a_loopback_bind_answers_only_loopback_names(bind_host: str) -> None:
    assert default_allowed_hosts(bind_host=bind_host, public_url=None) == list(LOOPBACK_HOSTS)


@pytest.mark.parametrize("bind_host", ["0.0.0.0", "::", "10.0.0.5", "images.internal"])
def test_a_network_bind_answers_any_host(bind_host: str) -> None:
    assert default_allowed_hosts(bind_host=bind_host, public_url=None) == ["*"]


@pytest.mark.parametrize(
    ("public_url", "added"),
    [("https://Images.example.com/", "images.example.com"), ("http://[fd00::5]:8000", "[fd00::5]")],
)
def test_a_loopback_bind_also_answers_the_public_urls_host(public_url: str, added: str) -> None:
    # A proxy on the same machine forwarding the public Host: the operator named it already
    hosts = default_allowed_hosts(bind_host="127.0.0.1", public_url=public_url)
    assert hosts == [*LOOPBACK_HOSTS, added]


def test_patterns_are_read_as_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    patterns = ["images.example.com", "*.example.com", "10.0.0.5", "[::1]", "*"]
    monkeypatch.setenv("ALLOWED_HOSTS", json.dumps(patterns))
    assert Settings(_env_file=None).allowed_hosts == patterns


@pytest.mark.parametrize(
    "patterns",
    [
        ["images.example.com:8000"],  # Starlette compares names without their port
        ["::1"],  # and keeps an IPv6 address's brackets
        ["https://images.example.com"],
        ["images.*.com"],
        [""],
        [],
    ],
)
def test_patterns_that_could_never_match_stop_start_up(
    patterns: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_HOSTS", json.dumps(patterns))
    with pytest.raises(ValueError, match="allowed_hosts"):
        Settings(_env_file=None)
