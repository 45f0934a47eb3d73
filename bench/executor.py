"""Benchmark: thumbnail a batch in a process pool or a thread pool, against a serial loop.

The worker hands each job to ``worker.processing.make_thumbnail`` through an executor. This
measures which executor gets a batch done sooner on this machine, with the same number of
workers, and reports each as a ratio against a plain serial loop timed in the same run.

Run from the repository root: ``.venv/bin/python -m bench.executor``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.photos import SEED, SIZES_PX, SOURCE_JPEG_QUALITY, make_photo
from infra.storage.local import LocalStorage
from worker.processing import ThumbnailResult, ThumbnailSpec, make_thumbnail

SPEC = ThumbnailSpec(max_px=256, quality=85)
# Both pools get the worker's default concurrency, which matches this machine's 2 cores.
MAX_WORKERS = 2


@dataclass(frozen=True, slots=True)
class Row:
    executor: str
    workers: int
    images: int
    median_s: float
    runs_s: list[float]
    images_per_s: float
    speedup_vs_serial: float


def generate_originals(storage: LocalStorage, count_2mp: int, count_12mp: int) -> list[str]:
    keys: list[str] = []
    sizes = [SIZES_PX[2]] * count_2mp + [SIZES_PX[12]] * count_12mp
    for index, size_px in enumerate(sizes):
        key = f"originals/{index:03d}_{size_px[0]}x{size_px[1]}.jpg"
        with storage.atomic_writer(key) as target:
            make_photo(size_px, SEED + index).save(target, "JPEG", quality=SOURCE_JPEG_QUALITY)
        keys.append(key)
    # Interleave sizes (seeded, so every executor sees the same order): a run of big images
    # at the end would leave one pool worker idle and measure scheduling, not the executor.
    random.Random(SEED).shuffle(keys)
    return keys


def thumbnail_key(run_label: str, original_key: str) -> str:
    return f"thumbnails/{run_label}/{Path(original_key).name}"


def run_serial(storage: LocalStorage, keys: Sequence[str], run_label: str) -> list[ThumbnailResult]:
    return [make_thumbnail(storage, key, thumbnail_key(run_label, key), SPEC) for key in keys]


def run_pool(
    executor: Executor, storage: LocalStorage, keys: Sequence[str], run_label: str
) -> list[ThumbnailResult]:
    # One task per image, as the worker submits one per job.
    futures = [
        executor.submit(make_thumbnail, storage, key, thumbnail_key(run_label, key), SPEC)
        for key in keys
    ]
    return [future.result() for future in futures]


def warm_up(executor: Executor, storage: LocalStorage, keys: Sequence[str]) -> None:
    # The worker keeps one long-lived pool, so process start-up and first-import costs do
    # not belong in the per-batch time; one image per worker makes every worker start.
    run_pool(executor, storage, keys[:MAX_WORKERS], "warmup")


def benchmark(
    storage: LocalStorage, keys: Sequence[str], repeat: int
) -> tuple[dict[str, list[float]], dict[str, float]]:
    elapsed_s: dict[str, list[float]] = {"serial": [], "thread": [], "process": []}
    startup_s: dict[str, float] = {}
    reference: list[ThumbnailResult] | None = None

    start_s = time.perf_counter()
    process_pool = ProcessPoolExecutor(max_workers=MAX_WORKERS)
    warm_up(process_pool, storage, keys)
    startup_s["process"] = time.perf_counter() - start_s
    start_s = time.perf_counter()
    thread_pool = ThreadPoolExecutor(max_workers=MAX_WORKERS)
    warm_up(thread_pool, storage, keys)
    startup_s["thread"] = time.perf_counter() - start_s

    runners: dict[str, Callable[[str], list[ThumbnailResult]]] = {
        "serial": lambda label: run_serial(storage, keys, label),
        "thread": lambda label: run_pool(thread_pool, storage, keys, label),
        "process": lambda label: run_pool(process_pool, storage, keys, label),
    }
    names = list(runners)
    try:
        for round_index in range(repeat):
            # Rotate the order each round so drift on a shared machine (other tenants,
            # thermal, page cache) does not always land on the same executor.
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                start_s = time.perf_counter()
                results = runners[name](f"{name}-{round_index}")
                run_elapsed_s = time.perf_counter() - start_s
                # A faster executor is no use if it produced different thumbnails.
                if reference is None:
                    reference = results
                elif results != reference:
                    raise RuntimeError(f"{name} produced different thumbnails than the first run")
                elapsed_s[name].append(run_elapsed_s)
                print(f"  round {round_index + 1}/{repeat} {name:<8} {run_elapsed_s:7.3f} s")
    finally:
        process_pool.shutdown(wait=True)
        thread_pool.shutdown(wait=True)
    return elapsed_s, startup_s


def build_rows(elapsed_s: dict[str, list[float]], images: int) -> list[Row]:
    serial_median_s = statistics.median(elapsed_s["serial"])
    labels = {
        "serial": ("serial loop", 1),
        "thread": ("ThreadPoolExecutor", MAX_WORKERS),
        "process": ("ProcessPoolExecutor", MAX_WORKERS),
    }
    rows: list[Row] = []
    for name, runs_s in elapsed_s.items():
        median_s = statistics.median(runs_s)
        label, workers = labels[name]
        rows.append(
            Row(
                executor=label,
                workers=workers,
                images=images,
                median_s=median_s,
                runs_s=runs_s,
                images_per_s=images / median_s,
                speedup_vs_serial=serial_median_s / median_s,
            )
        )
    return rows


def format_table(rows: Sequence[Row]) -> str:
    header = "| executor | workers | images | median wall time (s) | images/s | vs serial |"
    lines = [header, "|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(
            f"| {row.executor} | {row.workers} | {row.images} | {row.median_s:.3f} "
            f"| {row.images_per_s:.1f} | {row.speedup_vs_serial:.2f}x |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count-2mp", type=int, default=40, help="1600x1200 originals")
    parser.add_argument("--count-12mp", type=int, default=20, help="4000x3000 originals")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per executor")
    args = parser.parse_args(argv)
    if args.count_2mp < 0 or args.count_12mp < 0 or args.count_2mp + args.count_12mp < 1:
        parser.error("need at least one image")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    count_2mp: int = args.count_2mp
    count_12mp: int = args.count_12mp
    repeat: int = args.repeat
    # Here, not at the top: pool processes that re-import this module (spawn, forkserver)
    # would add bench.stack's imports (pytest, asyncpg, ...) to the timed pool start-up.
    from bench.stack import print_machine, write_results

    print_machine()

    with tempfile.TemporaryDirectory(prefix="imagequeue-bench-") as root:
        storage = LocalStorage(Path(root))
        start_s = time.perf_counter()
        keys = generate_originals(storage, count_2mp, count_12mp)
        generate_s = time.perf_counter() - start_s
        originals_mib = sum(storage.size(key) for key in keys) / 2**20
        print(
            f"generated {count_2mp} x 2 MP + {count_12mp} x 12 MP JPEGs "
            f"({originals_mib:.0f} MiB) in {generate_s:.1f} s"
        )
        elapsed_s, startup_s = benchmark(storage, keys, repeat)

    rows = build_rows(elapsed_s, len(keys))
    print()
    print(f"median of {repeat} runs; pool start-up excluded (the worker keeps its pool)")
    print(format_table(rows))

    write_results(
        "executor",
        {
            "parameters": {
                "count_2mp": count_2mp,
                "count_12mp": count_12mp,
                "repeat": repeat,
                "max_workers": MAX_WORKERS,
                "spec": asdict(SPEC),
                "source_jpeg_quality": SOURCE_JPEG_QUALITY,
                "seed": SEED,
            },
            "originals_mib": originals_mib,
            "pool_startup_with_warmup_s": startup_s,
            "rows": [asdict(row) for row in rows],
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
