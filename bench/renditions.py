"""Benchmark: our renditions against naive Pillow and libvips making the same outputs.

For photo-like JPEGs at 2, 12 and 24 megapixels, each method makes the default set (thumb
256 JPEG q85 progressive, small 640 and large 1280 WebP q80) from the file on disk:

- ``ours``: ``worker.processing.process_image`` (draft, shrink first, cascade, plus the
  metadata, BlurHash and dominant colour the worker always computes);
- ``naive``: open, decode at full size, ``resize(LANCZOS)`` from the full image for each
  output, save with the same encoder settings;
- ``vips``: ``pyvips.Image.thumbnail`` per output (shrink-on-load), same encoder settings.

Each method runs in its own fresh process, so its peak RSS is its own. It also times AVIF
against WebP encoding of the same 1280 px image. Results go to bench/results/renditions.json.

Run from the repository root: ``.venv/bin/python -m bench.renditions`` (``make bench``).
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image

from bench.peak_rss import peak_rss_mib
from bench.photos import SEED, SIZES_PX, SOURCE_JPEG_QUALITY, make_photo
from infra.renditions import DEFAULT_PRESETS, OutputFormat, RenditionSpec, thumb_spec
from infra.storage.local import LocalStorage
from worker.processing import Limits, Target, process_image

SPECS = (thumb_spec(256, 85), *DEFAULT_PRESETS)
LIMITS = Limits(time_limit_s=600)


@dataclass(frozen=True, slots=True)
class Row:
    megapixels: int
    method: str
    median_s: float
    runs_s: list[float]
    peak_rss_mib: float


def _ours(path: Path, out_dir: Path) -> None:
    storage = LocalStorage(path.parent)
    targets = [Target(spec, f"{out_dir.name}/ours_{spec.name}") for spec in SPECS]
    process_image(storage, path.name, targets, LIMITS)


def _naive_save(image: Image.Image, spec: RenditionSpec, target: Path) -> None:
    if spec.format is OutputFormat.JPEG:
        image.save(target, "JPEG", quality=spec.quality, optimize=True, progressive=True)
    else:
        image.save(target, "WEBP", quality=spec.quality, method=4)


def _naive(path: Path, out_dir: Path) -> None:
    with Image.open(path) as image:
        image.load()
        for spec in SPECS:
            scale = min(spec.width / image.width, spec.height / image.height, 1.0)
            size = (round(image.width * scale), round(image.height * scale))
            _naive_save(image.resize(size, Image.Resampling.LANCZOS), spec, out_dir / spec.name)


def _vips(path: Path, out_dir: Path) -> None:
    import pyvips

    for spec in SPECS:
        thumb = pyvips.Image.thumbnail(str(path), spec.width, height=spec.height, size="down")
        target = str(out_dir / f"vips_{spec.name}")
        if spec.format is OutputFormat.JPEG:
            thumb.jpegsave(
                target + ".jpg", Q=spec.quality, interlace=True, optimize_coding=True, keep=0
            )
        else:
            thumb.webpsave(target + ".webp", Q=spec.quality, effort=4, keep=0)


METHODS: dict[str, Callable[[Path, Path], None]] = {"ours": _ours, "naive": _naive, "vips": _vips}


def _time_in_child(method: str, path: Path, repeat: int) -> tuple[list[float], float]:
    """Runs in a fresh process: one warm-up, then ``repeat`` timed runs; peak RSS in MiB."""
    out_dir = path.parent / f"out_{method}"
    out_dir.mkdir(exist_ok=True)
    run = METHODS[method]
    run(path, out_dir)
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        run(path, out_dir)
        runs.append(time.perf_counter() - start)
    return runs, peak_rss_mib()


def _encode_costs(repeat: int) -> dict[str, float]:
    """AVIF against WebP for the same 1280x960 image, at the default qualities."""
    image = make_photo(SIZES_PX[12], SEED).resize((1280, 960), Image.Resampling.LANCZOS)
    costs = {}
    for name, options in (
        ("webp_q80_method4", {"format": "WEBP", "quality": 80, "method": 4}),
        ("avif_q60_default_speed", {"format": "AVIF", "quality": 60}),
    ):
        runs = []
        for _ in range(repeat + 1):
            start = time.perf_counter()
            image.save(Path(tempfile.gettempdir()) / "iq_encode_probe", **options)  # type: ignore[arg-type]
            runs.append(time.perf_counter() - start)
        costs[name] = statistics.median(runs[1:])
    costs["avif_over_webp"] = costs["avif_q60_default_speed"] / costs["webp_q80_method4"]
    return costs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="2,12,24", help="megapixels, from 2, 12, 24")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per method and size")
    parser.add_argument("--methods", default=",".join(METHODS))
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    methods = args.methods.split(",")

    # Here, not at the top: each spawned child re-imports this module, and bench.stack's
    # imports (pytest, asyncpg, ...) would count in the peak RSS it measures.
    from bench.stack import print_machine, write_results

    print_machine()
    rows: list[Row] = []
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="iq-bench-") as tmp:
        for megapixels in sizes:
            path = Path(tmp) / f"{megapixels}mp" / "original.jpg"
            path.parent.mkdir()
            make_photo(SIZES_PX[megapixels], SEED + megapixels).save(
                path, "JPEG", quality=SOURCE_JPEG_QUALITY
            )
            for method in methods:
                with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
                    runs, peak = pool.submit(_time_in_child, method, path, args.repeat).result()
                rows.append(Row(megapixels, method, statistics.median(runs), runs, round(peak, 1)))
                print(
                    f"{megapixels:>3} MP {method:<6} median {rows[-1].median_s * 1000:8.1f} ms"
                    f"  peak RSS {peak:7.1f} MiB",
                    flush=True,
                )
    encode_costs = _encode_costs(args.repeat)

    print(
        "\n| input | ours (ms) | naive Pillow (ms) | libvips (ms) | naive / ours | ours / libvips "
        "| peak RSS ours / naive / vips (MiB) |"
    )
    print("|---|---:|---:|---:|---:|---:|---|")
    by_key = {(row.megapixels, row.method): row for row in rows}
    summary = []
    for megapixels in sizes:
        found = {m: by_key.get((megapixels, m)) for m in ("ours", "naive", "vips")}
        ours, naive, vips = (found[m] for m in ("ours", "naive", "vips"))
        if not ours:
            continue
        speedup = naive.median_s / ours.median_s if naive else float("nan")
        vs_vips = ours.median_s / vips.median_s if vips else float("nan")
        summary.append(
            {"megapixels": megapixels, "naive_over_ours": speedup, "ours_over_vips": vs_vips}
        )
        peaks = " / ".join(f"{r.peak_rss_mib:.0f}" if r else "-" for r in (ours, naive, vips))
        print(
            f"| {megapixels} MP JPEG | {ours.median_s * 1000:.0f} | "
            f"{naive.median_s * 1000 if naive else float('nan'):.0f} | "
            f"{vips.median_s * 1000 if vips else float('nan'):.0f} | {speedup:.2f}x | "
            f"{vs_vips:.2f}x | {peaks} |"
        )
    print(
        f"\nencode 1280x960: WebP q80 {encode_costs['webp_q80_method4'] * 1000:.1f} ms, "
        f"AVIF q60 {encode_costs['avif_q60_default_speed'] * 1000:.1f} ms "
        f"({encode_costs['avif_over_webp']:.1f}x WebP)"
    )

    write_results(
        "renditions",
        {
            "argv": sys.argv[1:],
            "rows": [asdict(r) for r in rows],
            "summary": summary,
            "encode_costs": encode_costs,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
