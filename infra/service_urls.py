"""``DATABASE_URL`` and ``AMQP_URL`` checked at start-up, before any client library reads them.

A password pasted into a URL unencoded (``#``, ``/``, ``?`` or ``@`` in it) moves the URL's
boundaries: asyncpg then fails with ``invalid literal for int()`` on a piece of the password,
and aio-pika logs the URL with that piece in the host. Both echo the secret; the checks here
catch those URLs first, and their messages never hold any part of the URL.
"""

from __future__ import annotations

from urllib.parse import SplitResult, quote, urlsplit

DATABASE_SCHEMES = ("postgresql", "postgres")
AMQP_SCHEMES = ("amqp", "amqps")

_ENCODE = (
    "is not a valid URL: percent-encode reserved characters in the user name and password "
    "(# as %23, / as %2F, ? as %3F, @ as %40, % as %25)"
)


def check_service_url(url: str, schemes: tuple[str, ...]) -> str:
    """``url`` if the client libraries will read it as written; ``ValueError`` otherwise."""
    try:
        parts = urlsplit(url)
    except ValueError:
        # urlsplit's own message quotes the URL.
        raise ValueError(_ENCODE) from None
    if parts.scheme not in schemes:
        expected = " or ".join(f"{scheme}://" for scheme in schemes)
        raise ValueError(f"must start with {expected}")
    if _moved_boundaries(parts) or not all(map(_port_is_a_number, _hosts(parts.netloc))):
        raise ValueError(_ENCODE)
    return url


def _moved_boundaries(parts: SplitResult) -> bool:
    # Neither URL takes a fragment, so a '#' was in the password; an '@' past the host means
    # a '/' or '?' in the password ended the authority early; asyncpg splits the authority
    # at its first '@', yarl at its last, so two of them are read differently.
    past_host = "@" in parts.path + parts.query and "@" not in parts.netloc
    return bool(parts.fragment) or parts.netloc.count("@") > 1 or past_host


def _hosts(netloc: str) -> list[str]:
    """``host[:port]`` items of the authority (asyncpg takes a comma-separated list)."""
    return netloc.rpartition("@")[2].split(",")


def _port_is_a_number(host: str) -> bool:
    # The port follows the last ':' outside an IPv6 address's brackets.
    _, _, after_bracket = host.rpartition("]")
    if ":" not in after_bracket:
        return True
    port = after_bracket.rpartition(":")[2]
    return port == "" or port.isdigit()


def with_password(url: str, password: str) -> str:
    """``url`` (checked) with ``password``, percent-encoded, in place of its own."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0] if at else ""
    netloc = f"{user}:{quote(password, safe='')}@{host}"
    return parts._replace(netloc=netloc).geturl()
