"""The peak resident memory of this process, for benchmarks that run in a fresh one."""

from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_mib() -> float:
    # VmHWM belongs to this process's own address space, which exec started afresh;
    # ru_maxrss would carry over the parent's peak (it made the test images).
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
