"""Which files ``imagequeue upload`` sends, every one checked before anything is sent."""

from __future__ import annotations

import os
from pathlib import Path


def collect_files(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """The files to upload, and a line for each path that cannot be read.

    A file is taken as given. A folder gives every file under it in name order, except
    hidden ones and those in hidden folders below it: only the part of a path under the
    folder counts, so ``../photos`` or ``~/.local/share/photos`` are not hidden.
    """
    files: list[Path] = []
    problems: list[str] = []
    for path in paths:
        found = _files_under(path, problems) if path.is_dir() else [path]
        for file in found:
            problem = _unreadable(file)
            if problem is None:
                files.append(file)
            else:
                problems.append(f"{file}: {problem}")
    return files, problems


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
