"""Benchmark: peak memory of a pool process rendering the largest image allowed.

A PNG with alpha of ``--megapixels`` (the costliest kind: 4 bytes a pixel decoded, and no
reduced-scale decode as JPEG has) is rendered in a fresh process, as a pool process would,
with the default renditions and with an upload's own 4,096-pixel WebP or AVIF on top. The
baseline, from the same run, is a fresh process that imports the same code and renders
nothing: what a pool process holds when idle. Reported: the peak resident memory, and the
bytes per pixel above the idle process, which docs/operations.md's memory rule
(64 MiB + 18 bytes per pixel of ``MAX_IMAGE_PIXELS`` per pool process) must cover.

Run from the repository root: ``.venv/bin/python -m bench.worker_memory``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image

from bench.stack import print_machine, write_results

MIB = 2**20
EXTRA_RENDITIONS = ("none", "default", "WEBP", "AVIF")
"""``none`` is the idle baseline; the others render the default set, plus one of that format."""

_RENDER = """
import sys
from pathlib import Path
from bench.peak_rss import peak_rss_mib
from infra.renditions import DEFAULT_PRESETS, OutputFormat, RenditionSpec, thumb_spec
from infra.storage.local import LocalStorage
from worker.processing import Limits, Target, process_image

if sys.argv[2] != "none":
    specs = [thumb_spec(256, 85), *DEFAULT_PRESETS]
    if sys.argv[2] != "default":
        specs.append(RenditionSpec(name="big", width=4096, format=OutputFormat(sys.argv[2])))
    targets = [Target(spec, f"renditions/{spec.name}") for spec in specs]
    limits = Limits(max_pixels=int(sys.argv[3]), time_limit_s=300)
    process_image(LocalStorage(Path(sys.argv[1])), "originals/big.png", targets, limits)
print(round(peak_rss_mib() * 2**20))
"""


@dataclass(frozen=True, slots=True)
class Peak:
    renditions: str
    peak_mib: float
    bytes_per_pixel_above_idle: float


def write_largest_png(root: Path, pixels: int) -> int:
    side = int(pixels**0.5)
    (root / "originals").mkdir()
    gradient = Image.linear_gradient("L").resize((side, side))
    bands = [gradient.rotate(angle) for angle in (0, 90, 180, 270)]
    Image.merge("RGBA", bands).save(root / "originals" / "big.png", compress_level=1)
    return side * side


def peak_bytes(root: Path, renditions: str, pixels: int) -> int:
    result = subprocess.run(
        [sys.executable, "-c", _RENDER, str(root), renditions, str(pixels)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(result.stdout)


def run(megapixels: float) -> list[Peak]:
    with tempfile.TemporaryDirectory(prefix="iq-bench-memory-") as directory:
        root = Path(directory)
        pixels = write_largest_png(root, int(megapixels * 1_000_000))
        peaks = {
            renditions: peak_bytes(root, renditions, pixels) for renditions in EXTRA_RENDITIONS
        }
    idle = peaks["none"]
    return [
        Peak(renditions, peak / MIB, (peak - idle) / pixels) for renditions, peak in peaks.items()
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--megapixels", type=float, default=50.0)
    args = parser.parse_args(argv)

    print_machine()
    rows = run(args.megapixels)
    print(f"\nA {args.megapixels} MP PNG with alpha, rendered in a fresh process:")
    print("| renditions | peak RSS | bytes per pixel above idle |\n|---|---:|---:|")
    for row in rows:
        print(
            f"| {row.renditions} | {row.peak_mib:.0f} MiB | {row.bytes_per_pixel_above_idle:.1f} |"
        )
    write_results("worker_memory", {"parameters": vars(args), "rows": [asdict(r) for r in rows]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
