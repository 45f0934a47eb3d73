"""Benchmark: the upload path against a bare Starlette endpoint that streams to disk.

``--clients`` concurrent clients (keep-alive connections) each send one upload after
another for ``--duration-s`` seconds: to the real server as a GraphQL multipart
``uploadImage`` (which parses the multipart body, sniffs the image header, stores the
original, inserts the row and publishes the job; no worker runs), and to
``bench.bare_upload`` (body straight to a file), with the same request bytes. The file is a
2 MP JPEG padded to the size asked for: the server reads only the header, so the padding
costs what real pixels would.

Each file size gets freshly started servers, so their peak RSS (VmHWM) belongs to that
size. The two targets alternate in order over ``--repeat`` rounds; medians are reported.

Run from the repository root: ``.venv/bin/python -m bench.upload_path`` (``make bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import random
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.photos import SEED, SIZES_PX
from bench.stack import (
    HttpConnection,
    Stack,
    empty_dir,
    host_port,
    isolated_stack,
    median,
    multipart_upload,
    percentile,
    photo_jpeg,
    print_machine,
    proc_cpu_s,
    proc_memory_mib,
    upload,
    write_results,
)
from tests.processes import Process, wait_healthy
from tests.services import free_port

MIB = 2**20


@dataclass(frozen=True, slots=True)
class Round:
    requests: int
    errors: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    server_cpu_ms_per_request: float = 0.0


@dataclass(frozen=True, slots=True)
class Row:
    target: str
    file_mib: float
    requests_per_s: float
    mib_per_s: float
    p50_ms: float
    p99_ms: float
    rss_idle_mib: float
    peak_rss_mib: float
    server_cpu_ms_per_request: float
    vs_bare: float
    rounds: list[Round]


def padded_jpeg(size_bytes: int) -> bytes:
    photo = photo_jpeg(SIZES_PX[2], SEED)
    # Bytes after the JPEG's end-of-image marker are ignored by decoders.
    return photo + random.Random(SEED).randbytes(max(0, size_bytes - len(photo)))


async def load(
    send: Callable[[HttpConnection], Awaitable[None]],
    base_url: str,
    clients: int,
    duration_s: float,
) -> Round:
    host, port = host_port(base_url)
    latencies_s: list[float] = []
    errors = 0
    deadline = time.monotonic() + duration_s

    async def client() -> None:
        nonlocal errors
        connection = HttpConnection(host, port)
        try:
            while time.monotonic() < deadline:
                start_s = time.perf_counter()
                try:
                    await send(connection)
                except (RuntimeError, ConnectionError, OSError):
                    errors += 1
                    await connection.close()
                    continue
                latencies_s.append(time.perf_counter() - start_s)
        finally:
            await connection.close()

    start_s = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed_s = time.monotonic() - start_s
    return Round(
        requests=len(latencies_s),
        errors=errors,
        requests_per_s=len(latencies_s) / elapsed_s,
        p50_ms=percentile(latencies_s, 50) * 1000,
        p99_ms=percentile(latencies_s, 99) * 1000,
    )


def start_bare(stack: Stack, target_dir: Path) -> tuple[Process, str]:
    port = free_port()
    process = stack.launcher.start(
        "bare", "--port", str(port), "--dir", str(target_dir), module="bench.bare_upload"
    )
    base_url = f"http://127.0.0.1:{port}"
    wait_healthy(base_url, process)
    return process, base_url


def measure_size(
    stack: Stack, file_bytes: int, clients: int, duration_s: float, repeat: int
) -> list[Row]:
    body, content_type = multipart_upload(padded_jpeg(file_bytes), "upload.jpg")
    bare_dir = stack.storage_dir.parent / "bare"
    ours, ours_url = stack.start_server()
    bare, bare_url = start_bare(stack, bare_dir)
    idle = {"ours": proc_memory_mib(ours.popen.pid), "bare": proc_memory_mib(bare.popen.pid)}

    async def send_ours(connection: HttpConnection) -> None:
        await upload(connection, body, content_type)

    async def send_bare(connection: HttpConnection) -> None:
        status, payload = await connection.post("/upload", body, content_type)
        if status != 200 or json.loads(payload)["size"] != len(body):
            raise RuntimeError(f"bare upload failed: HTTP {status}")

    targets = {"ours": (send_ours, ours_url), "bare": (send_bare, bare_url)}
    processes = {"ours": ours, "bare": bare}
    rounds: dict[str, list[Round]] = {"ours": [], "bare": []}
    try:
        for round_index in range(repeat):
            order = ["ours", "bare"][:: 1 if round_index % 2 == 0 else -1]
            for name in order:
                stack.clear_storage()
                empty_dir(bare_dir)
                send, url = targets[name]
                pid = processes[name].popen.pid
                cpu_start_s = proc_cpu_s(pid)
                result = asyncio.run(load(send, url, clients, duration_s))
                # CPU per request is steadier than requests/s on a shared machine, and
                # says which server does more work for the same bytes.
                result = dataclasses.replace(
                    result,
                    server_cpu_ms_per_request=(proc_cpu_s(pid) - cpu_start_s)
                    * 1000
                    / max(1, result.requests),
                )
                rounds[name].append(result)
                print(
                    f"  {file_bytes / MIB:.0f} MiB, round {round_index + 1}/{repeat}, {name:<4}: "
                    f"{result.requests_per_s:6.1f} req/s, p99 {result.p99_ms:7.1f} ms, "
                    f"server CPU {result.server_cpu_ms_per_request:5.2f} ms/request, "
                    f"{result.errors} errors",
                    flush=True,
                )
        peaks = {"ours": proc_memory_mib(ours.popen.pid), "bare": proc_memory_mib(bare.popen.pid)}
    finally:
        ours.stop()
        bare.stop()
        stack.clear_storage()

    bare_rate = median([r.requests_per_s for r in rounds["bare"]])
    rows = []
    for name in ("ours", "bare"):
        rate = median([r.requests_per_s for r in rounds[name]])
        rows.append(
            Row(
                target=name,
                file_mib=file_bytes / MIB,
                requests_per_s=rate,
                mib_per_s=rate * file_bytes / MIB,
                p50_ms=median([r.p50_ms for r in rounds[name]]),
                p99_ms=median([r.p99_ms for r in rounds[name]]),
                rss_idle_mib=idle[name]["VmRSS"],
                peak_rss_mib=peaks[name]["VmHWM"],
                server_cpu_ms_per_request=median(
                    [r.server_cpu_ms_per_request for r in rounds[name]]
                ),
                vs_bare=rate / bare_rate,
                rounds=rounds[name],
            )
        )
    return rows


def format_table(rows: Sequence[Row]) -> str:
    lines = [
        "| target | file | req/s | MiB/s | p50 (ms) | p99 (ms) | RSS idle → peak (MiB) "
        "| server CPU (ms/request) | vs bare |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        label = "imagequeue uploadImage" if row.target == "ours" else "bare Starlette to disk"
        lines.append(
            f"| {label} | {row.file_mib:.0f} MiB | {row.requests_per_s:.1f} | {row.mib_per_s:.0f} "
            f"| {row.p50_ms:.0f} | {row.p99_ms:.0f} | {row.rss_idle_mib:.0f} → "
            f"{row.peak_rss_mib:.0f} | {row.server_cpu_ms_per_request:.2f} | {row.vs_bare:.2f}x |"
        )
    return "\n".join(lines)


def run(sizes_mib: Sequence[float], clients: int, duration_s: float, repeat: int) -> list[Row]:
    rows: list[Row] = []
    with isolated_stack() as stack:
        for size_mib in sizes_mib:
            rows.extend(measure_size(stack, int(size_mib * MIB), clients, duration_s, repeat))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration-s", type=float, default=30.0, help="per round and target")
    parser.add_argument("--sizes-mib", default="5,20", help="file sizes; RSS is compared")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    sizes_mib = [float(size) for size in args.sizes_mib.split(",")]

    print_machine("other engineers' test suites may be running on this machine too")
    rows = run(sizes_mib, args.clients, args.duration_s, args.repeat)
    print(
        f"\n{args.clients} clients, {args.duration_s:.0f} s per round, median of {args.repeat}; "
        "goal: >= 0.8x bare, peak RSS independent of file size"
    )
    print(format_table(rows))
    write_results("upload_path", {"parameters": vars(args), "rows": [asdict(r) for r in rows]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
