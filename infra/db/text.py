"""Text from outside (client file names, EXIF strings) made fit to store and to log."""

from __future__ import annotations

import unicodedata


def without_control_characters(text: str) -> str:
    """``text`` with control characters removed and the ends stripped.

    PostgreSQL text and JSONB cannot hold NUL (EXIF strings are often NUL-padded), and
    other control characters only cause trouble in logs and terminals.
    """
    return "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip()
