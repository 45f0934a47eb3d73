"""Which ``Host`` headers the server answers: the ``ALLOWED_HOSTS`` patterns and their default.

A browser page can reach a server bound to 127.0.0.1 by DNS rebinding: ``evil.example``
first resolves to the attacker's address, which serves the page, then to 127.0.0.1. The page's
requests are then same-origin to the browser and carry ``Host: evil.example:8000`` and a
matching ``Origin``, so the Origin check (server/origins.py) lets them act and read. What
the attacker cannot change is that the browser puts the page's own name in ``Host``: a
domain of the attacker's, never a name the server answers to. So that name is checked
(server/trusted_hosts.py).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator

ANY_HOST = "*"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
"""The names a client on this machine reaches a loopback-bound server by."""

# Starlette compares the Host header's name, without its port, to each pattern, and keeps
# the brackets of an IPv6 address: a pattern with a port or a bare IPv6 never matches.
_PATTERN = re.compile(r"(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*|\[[0-9a-f:.]+\]", re.IGNORECASE)


def check_host_pattern(pattern: str) -> str:
    if pattern == ANY_HOST or _PATTERN.fullmatch(pattern):
        return pattern
    raise ValueError(
        f"{pattern!r} is not a host pattern: write a name ('images.example.com'), an "
        "address ('10.0.0.5', '[::1]'), '*.example.com' for its subdomains, or '*' for any "
        "host; no scheme and no port"
    )


HostPattern = Annotated[str, AfterValidator(check_host_pattern)]


def default_allowed_hosts(*, bind_host: str, public_url: str | None) -> list[str]:
    """``ALLOWED_HOSTS`` when unset: loopback names on a loopback bind, else any host.

    Bound to loopback, the server is a developer's, reached as localhost; a rebinding page is
    the one remote client that can reach it, so any other name is refused. ``PUBLIC_URL``'s
    host is the operator's own name for it (a proxy on the same machine forwarding the public
    ``Host``). Bound to a network interface, the names clients, proxies and orchestrators
    use cannot be guessed, so any is answered and deployments set ``ALLOWED_HOSTS``.
    """
    if not _is_loopback(bind_host):
        return [ANY_HOST]
    hosts = list(LOOPBACK_HOSTS)
    public_host = urlsplit(public_url).hostname if public_url else None
    if public_host:
        hosts.append(f"[{public_host}]" if ":" in public_host else public_host)
    return hosts


def _is_loopback(bind_host: str) -> bool:
    if bind_host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(bind_host.strip("[]")).is_loopback
    except ValueError:
        return False
