"""Benchmark: one server process fanning image events out to many subscribers.

For each subscriber count, a freshly started server gets that many ``graphql-transport-ws``
connections, each with one ``imageUpdates`` subscription watching all images (no ids),
opened by ``--client-procs`` client processes (asyncio + websockets). The benchmark then
publishes ``--rate`` events per second for ``--duration-s`` seconds to the ``image_events``
exchange with ``infra.broker.events.EventPublisher``, the class the worker publishes with,
which stamps ``occurredAt`` as it publishes. Each client notes, per event, its receipt time
minus ``occurredAt`` (one clock: same machine). Every event names a different image, so
the hub's one-event-per-image coalescing never hides an event: a missing one was dropped.

Reported per count (median over ``--repeat`` rounds): delivery latency p50/p99, the share
of events delivered, the server's CPU (percent of one core while events flow) and RSS.

Run from the repository root: ``.venv/bin/python -m bench.fanout`` (``make bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import queue
import sys
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass
from multiprocessing.queues import Queue
from typing import Any

import aio_pika

from bench.stack import (
    Stack,
    isolated_stack,
    median,
    open_subscription,
    parse_update,
    percentile,
    print_machine,
    proc_cpu_s,
    proc_memory_mib,
    raise_open_files_limit,
    write_results,
)
from infra.broker.events import EventPublisher
from infra.broker.messages import ImageEvent

PROBE_ID_BASE = 900_000_000
ROUND_ID_STRIDE = 1_000_000
CONNECTS_IN_FLIGHT = 64
READY_TIMEOUT_S = 180.0
# Every probe goes to every connected subscriber: probing fast would load the server
# with the very fan-out being measured.
PROBE_INTERVAL_S = 2.0


@dataclass(frozen=True, slots=True)
class Round:
    events: int
    delivered_share: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_percent: float
    server_rss_mib: float


@dataclass(frozen=True, slots=True)
class Row:
    subscribers: int
    events_per_round: int
    delivered_share: float
    p50_ms: float
    p99_ms: float
    server_cpu_percent: float
    server_rss_idle_mib: float
    server_rss_mib: float
    server_peak_rss_mib: float
    connect_s: float
    rounds: list[Round]


# --- client processes -------------------------------------------------------------------


def client_process(base_url: str, count: int, commands: Queue[str], results: Queue[Any]) -> None:
    asyncio.run(_client(base_url, count, commands, results))


async def _client(base_url: str, count: int, commands: Queue[str], results: Queue[Any]) -> None:
    received: list[tuple[int, float]] = []
    ready = 0
    all_ready = asyncio.Event()
    gate = asyncio.Semaphore(CONNECTS_IN_FLIGHT)

    async def subscriber() -> None:
        nonlocal ready
        async with gate:
            socket = await open_subscription(base_url, open_timeout_s=READY_TIMEOUT_S)
        seen_probe = False
        try:
            async for raw in socket:
                received_at_s = time.time()
                kind, image_id, _, occurred_at_s = parse_update(raw)
                if kind == "ping":
                    await socket.send(json.dumps({"type": "pong"}))
                elif kind != "next":
                    continue
                elif image_id >= PROBE_ID_BASE:
                    if not seen_probe:
                        seen_probe = True
                        ready += 1
                        if ready == count:
                            all_ready.set()
                else:
                    received.append((image_id, received_at_s - occurred_at_s))
        finally:
            await socket.close()

    tasks = [asyncio.create_task(subscriber()) for _ in range(count)]
    waiter = asyncio.create_task(all_ready.wait())
    done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
    if waiter not in done:
        failed = next(task for task in done if task is not waiter)
        results.put(("error", repr(failed.exception())))
    else:
        results.put(("ready", count))
        await asyncio.get_running_loop().run_in_executor(None, commands.get)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    results.put(("done", received))


# --- the benchmark ---------------------------------------------------------------------


async def _publish(amqp_url: str, events: Sequence[ImageEvent], interval_s: float) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        publisher = await EventPublisher.declare(channel)
        start_s = time.monotonic()
        for index, event in enumerate(events):
            await asyncio.sleep(max(0.0, start_s + index * interval_s - time.monotonic()))
            await publisher.publish(event)
    finally:
        await connection.close()


def _probe(amqp_url: str, seq: int) -> None:
    event = ImageEvent(PROBE_ID_BASE + seq, "processing", 0.5, "probe")
    asyncio.run(_publish(amqp_url, [event], 0))


def measure(
    stack: Stack,
    subscribers: int,
    client_procs: int,
    rate: float,
    duration_s: float,
    drain_s: float,
    repeat: int,
) -> Row:
    # Every subscriber connects from 127.0.0.1, so the per-address cap would hold back all
    # but its first 100; the server gets room for exactly the subscribers measured.
    server, base_url = stack.start_server(
        {
            "MAX_WEBSOCKETS_PER_PROCESS": str(subscribers),
            "MAX_WEBSOCKETS_PER_ADDRESS": str(subscribers),
        }
    )
    pid = server.popen.pid
    idle_rss = proc_memory_mib(pid)["VmRSS"]
    amqp_url = stack.env["AMQP_URL"]
    spawn = multiprocessing.get_context("spawn")
    results: Queue[Any] = spawn.Queue()
    commands: list[Queue[str]] = []
    processes = []
    shares = [
        subscribers // client_procs + (i < subscribers % client_procs) for i in range(client_procs)
    ]
    try:
        start_s = time.monotonic()
        for share in shares:
            command_queue: Queue[str] = spawn.Queue()
            process = spawn.Process(
                target=client_process, args=(base_url, share, command_queue, results), daemon=True
            )
            process.start()
            commands.append(command_queue)
            processes.append(process)
        ready_procs, probe_seq = 0, 0
        while ready_procs < len(shares):
            if time.monotonic() - start_s > READY_TIMEOUT_S:
                raise TimeoutError(f"subscribers not ready after {READY_TIMEOUT_S} s")
            # Probes until every subscription has seen one: only then is it registered.
            _probe(amqp_url, probe_seq)
            probe_seq += 1
            with suppress(queue.Empty):
                while True:
                    kind, value = results.get(timeout=PROBE_INTERVAL_S)
                    if kind == "error":
                        raise RuntimeError(f"a subscriber failed: {value}")
                    ready_procs += kind == "ready"
        connect_s = time.monotonic() - start_s
        print(f"  {subscribers} subscribers ready in {connect_s:.1f} s", flush=True)

        count = max(1, round(rate * duration_s))
        cpu_and_rss: list[tuple[float, float]] = []
        for round_index in range(repeat):
            events = [
                ImageEvent(ROUND_ID_STRIDE * (round_index + 1) + seq, "processing", 0.5, "bench")
                for seq in range(count)
            ]
            cpu_start_s, wall_start_s = proc_cpu_s(pid), time.monotonic()
            asyncio.run(_publish(amqp_url, events, 1 / rate))
            time.sleep(drain_s)
            cpu_percent = 100 * (proc_cpu_s(pid) - cpu_start_s) / (time.monotonic() - wall_start_s)
            cpu_and_rss.append((cpu_percent, proc_memory_mib(pid)["VmRSS"]))
        peak_rss = proc_memory_mib(pid)["VmHWM"]
        for command_queue in commands:
            command_queue.put("stop")
        received: list[tuple[int, float]] = []
        finished = 0
        while finished < len(processes):
            kind, value = results.get(timeout=120)
            if kind == "done":
                received.extend(value)
                finished += 1
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
        server.stop()

    rounds = []
    for round_index, (cpu_percent, rss) in enumerate(cpu_and_rss):
        base = ROUND_ID_STRIDE * (round_index + 1)
        latencies = [lat for image_id, lat in received if base <= image_id < base + ROUND_ID_STRIDE]
        rounds.append(
            Round(
                events=count,
                delivered_share=len(latencies) / (count * subscribers),
                p50_ms=percentile(latencies, 50) * 1000,
                p99_ms=percentile(latencies, 99) * 1000,
                max_ms=max(latencies, default=float("nan")) * 1000,
                server_cpu_percent=cpu_percent,
                server_rss_mib=rss,
            )
        )
        print(
            f"  {subscribers} subscribers, round {round_index + 1}/{repeat}: "
            f"p50 {rounds[-1].p50_ms:.1f} ms, p99 {rounds[-1].p99_ms:.1f} ms, "
            f"delivered {rounds[-1].delivered_share:.1%}, server CPU {cpu_percent:.0f} %",
            flush=True,
        )
    return Row(
        subscribers=subscribers,
        events_per_round=count,
        delivered_share=median([r.delivered_share for r in rounds]),
        p50_ms=median([r.p50_ms for r in rounds]),
        p99_ms=median([r.p99_ms for r in rounds]),
        server_cpu_percent=median([r.server_cpu_percent for r in rounds]),
        server_rss_idle_mib=idle_rss,
        server_rss_mib=median([r.server_rss_mib for r in rounds]),
        server_peak_rss_mib=peak_rss,
        connect_s=connect_s,
        rounds=rounds,
    )


def format_table(rows: Sequence[Row], rate: float) -> str:
    lines = [
        "| subscribers | events/s | delivered | p50 (ms) | p99 (ms) | server CPU (% of a core) "
        "| server RSS idle → with subscribers (MiB) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.subscribers} | {rate:g} | {row.delivered_share:.1%} | {row.p50_ms:.1f} "
            f"| {row.p99_ms:.1f} | {row.server_cpu_percent:.0f} | "
            f"{row.server_rss_idle_mib:.0f} → {row.server_rss_mib:.0f} |"
        )
    return "\n".join(lines)


def run(
    counts: Sequence[int],
    client_procs: int,
    rate: float,
    duration_s: float,
    drain_s: float,
    repeat: int,
) -> list[Row]:
    # Each connection is a file descriptor on both sides; the server and the client
    # processes (started later, by measure) inherit the limit.
    open_files = raise_open_files_limit()
    if open_files < max(counts) + 100:
        raise SystemExit(f"RLIMIT_NOFILE is {open_files}: too low for {max(counts)} subscribers")
    with isolated_stack() as stack:
        return [
            measure(stack, count, client_procs, rate, duration_s, drain_s, repeat)
            for count in counts
        ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--subscribers", default="1000,5000")
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--rate", type=float, default=2.0, help="events published per second")
    parser.add_argument("--duration-s", type=float, default=10.0, help="publishing, per round")
    parser.add_argument("--drain-s", type=float, default=3.0, help="wait after publishing")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    counts = [int(count) for count in args.subscribers.split(",")]

    print_machine("client processes and the server share the machine's cores")
    rows = run(counts, args.client_procs, args.rate, args.duration_s, args.drain_s, args.repeat)
    print(f"\nmedian of {args.repeat} rounds; goal: p99 < 250 ms at 1,000 subscribers")
    print(format_table(rows, args.rate))
    write_results("fanout", {"parameters": vars(args), "rows": [asdict(row) for row in rows]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
