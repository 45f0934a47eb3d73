"""The ``imagequeue`` CLI as a user runs it, against the real server and worker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.client import Api
from tests.images import photo
from tests.processes import REPO_ROOT


def _imagequeue(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


def test_upload_a_folder_and_wait(api: Api, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    (folder / "nested").mkdir(parents=True)
    (folder / "a.jpg").write_bytes(photo(640, 480))
    (folder / "nested" / "b.jpg").write_bytes(photo(480, 640))
    (folder / ".hidden.jpg").write_bytes(b"ignored")

    result = _imagequeue("upload", str(folder), "--wait", "--url", f"{api.base_url}/graphql")

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("COMPLETED") >= 2
    assert ".hidden" not in result.stdout


def test_one_bad_file_makes_upload_exit_non_zero_and_names_it(api: Api, tmp_path: Path) -> None:
    (tmp_path / "good.jpg").write_bytes(photo())
    (tmp_path / "corrupt.jpg").write_bytes(photo()[:2500])
    (tmp_path / "notes.jpg").write_text("not an image")

    result = _imagequeue("upload", str(tmp_path), "--wait", "--url", f"{api.base_url}/graphql")

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any("notes.jpg" in line and "REJECTED" in line for line in lines), result.stdout
    assert any("corrupt.jpg" in line and "FAILED" in line for line in lines), result.stdout
    assert any("good.jpg" in line and "COMPLETED" in line for line in lines), result.stdout


def test_watch_prints_events_and_ends_when_the_images_are_done(api: Api) -> None:
    image = api.wait_final(api.upload("watched.jpg", photo())["id"])

    result = _imagequeue("watch", image["id"], "--url", f"{api.base_url}/graphql")

    assert result.returncode == 0, result.stderr
    assert f"image {image['id']:>6} COMPLETED" in result.stdout
