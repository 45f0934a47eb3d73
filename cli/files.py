"""Which files ``imagequeue upload`` sends, every one checked before anything is sent."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp", ".avif"}
    | {".heic", ".heif"}
)
"""Names of the files a folder gives: the server's accepted formats (infra/image_formats.py,
which tests/test_cli.py holds this to) in their usual spellings. The server still decides
by what a file holds; this only keeps a folder's notes and sidecar files (.txt, .xmp) from
being sent to be refused."""


@dataclass
class CollectedFiles:
    files: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """A line for each path that cannot be read."""
    skipped: list[Path] = field(default_factory=list)
    """Files in the folders given whose names are not an image's."""


def collect_files(paths: list[Path]) -> CollectedFiles:
    """The files to upload, what cannot be read, and what was left out.

    A file is taken as given, whatever its name. A folder gives every file under it with an
    image's name (``IMAGE_SUFFIXES``, in any case) in name order, except hidden ones and
    those in hidden folders below it: only the part of a path under the folder counts, so
    ``../photos`` or ``~/.local/share/photos`` are not hidden.
    """
    collected = CollectedFiles()
    problems = collected.problems
    files = collected.files
    for path in paths:
        if path.is_dir():
            found = []
            for file in _files_under(path, problems):
                if file.suffix.lower() in IMAGE_SUFFIXES:
                    found.append(file)
                else:
                    collected.skipped.append(file)
        else:
            found = [path]
        for file in found:
            problem = _unreadable(file)
            if problem is None:
                files.append(file)
            else:
                problems.append(f"{file}: {problem}")
    return collected


def _files_under(folder: Path, problems: list[str]) -> list[Path]:
    found: list[Path] = []
    for path in sorted([folder, *folder.rglob("*")]):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        if path.is_dir():
            # rglob skips a folder it cannot list without a word.
            if not os.access(path, os.R_OK | os.X_OK):
                problems.append(f"{path}: cannot list this folder")
        elif path.is_file():
            found.append(path)
    return found


def _unreadable(file: Path) -> str | None:
    """Why ``file`` cannot be sent, or None."""
    if file.exists() and not file.is_file():
        # Opening a FIFO or a device could block, or read forever.
        return "not a regular file"
    try:
        with file.open("rb"):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None
