"""Where a job's files are: its image's row says, and the job's paths must agree.

Anyone who may publish on the job queue can write a job, and so can a producer with a bug,
so ``originalPath`` and ``thumbnailPath`` are claims to check, never paths to follow. The
worker reads the original the row names, renders the renditions under that original's
name, and writes the thumbnail only at a key the row could have. A job that says otherwise
is refused whole, before its image is claimed: its row and files stay as they were.

The original design's producer wrote paths from the shared volume's root, with a leading
``/`` (``/uploads/cat.jpg``, ``/thumbnails/cat_thumb.jpg``); that root is ``STORAGE_DIR``
here, so a job's path and a row's are compared without it. The original is then read as
the row has it, and storage still refuses an absolute key there.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.broker.messages import ImageJob
from infra.db import images
from infra.db.images import Executor, ImageRecord
from infra.renditions import THUMBNAILS_FOLDER, thumbnail_key_for
from infra.storage import key_of_path

_SHOWN_CHARS = 200
"""A forged path can be as long as the message; the log and the dead letter show this much."""


@dataclass(frozen=True, slots=True)
class JobPaths:
    """What one job reads and writes: the row's original, and the thumbnail's key."""

    original_key: str
    thumbnail_key: str


@dataclass(frozen=True, slots=True)
class Disagreement:
    field: str
    """The job's JSON key: ``originalPath`` or ``thumbnailPath``."""
    sent: str
    why: str

    def __str__(self) -> str:
        return f"{self.field} {_shown(self.sent)} {self.why}"


class PathsRefused(Exception):
    """The job's paths are not its image's: a forged job, or a producer's bug."""

    def __init__(self, image_id: int, disagreements: list[Disagreement]) -> None:
        self.image_id = image_id
        self.disagreements = disagreements
        super().__init__(
            f"paths disagree with image {image_id}'s row: "
            + "; ".join(str(disagreement) for disagreement in disagreements)
        )

    @property
    def fields(self) -> list[str]:
        return [disagreement.field for disagreement in self.disagreements]


async def job_paths(db: Executor, job: ImageJob, record: ImageRecord) -> JobPaths:
    """Where ``job`` may read and write, ``record`` being its image's row now.

    Raises ``PathsRefused`` naming every field that disagrees. Changes nothing.
    """
    disagreements: list[Disagreement] = []
    if key_of_path(job.original_path) != record.original_key:
        why = f"is not the row's original_path {_shown(record.original_path)}"
        disagreements.append(Disagreement("originalPath", job.original_path, why))
    thumbnail_key = key_of_path(job.thumbnail_path)
    why_not = await _not_its_thumbnail(db, thumbnail_key, record)
    if why_not is not None:
        disagreements.append(Disagreement("thumbnailPath", job.thumbnail_path, why_not))
    if disagreements:
        raise PathsRefused(record.id, disagreements)
    return JobPaths(record.original_key, thumbnail_key)


async def _not_its_thumbnail(db: Executor, key: str, record: ImageRecord) -> str | None:
    """Why ``key`` cannot be ``record``'s thumbnail, or None when it can.

    It can be the key the server names after the row's original (every job the server
    makes), or the thumbnail the row records. A row that records none may also get a name
    of a legacy producer's own choosing (the original design let producers choose), as long
    as it is directly in the thumbnail folder and is no other image's file.
    """
    named = thumbnail_key_for(record.original_key)
    if key == named:
        return None
    if record.thumbnail_path is not None:
        if key == record.thumbnail_key:
            return None
        return f"is neither the row's thumbnail_path {_shown(record.thumbnail_path)} nor {named!r}"
    folder, _, name = key.partition("/")
    if (
        folder != THUMBNAILS_FOLDER
        or not name
        or "/" in name
        or name.startswith(".")
        # Control characters and lone surrogates: PostgreSQL cannot even be asked about them.
        or not name.isprintable()
        or len(key) > images.MAX_PATH_CHARS
        or key == record.original_key
    ):
        return f"is not {named!r} nor a file of its own directly in {THUMBNAILS_FOLDER}/"
    holder = await images.other_image_with_key(db, key, image_id=record.id)
    if holder is not None:
        return f"is a file of image {holder}"
    return None


def _shown(path: str) -> str:
    if len(path) <= _SHOWN_CHARS:
        return repr(path)
    return f"{path[:_SHOWN_CHARS]!r}… ({len(path)} characters)"
