"""Wall-clock time and row counts per part of a benchmark, printed with rows per second."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable


class Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.rows: dict[str, int] = defaultdict(int)
        self.notes: list[str] = []

    def add(self, part: str, seconds: float, rows: int = 0) -> None:
        self.seconds[part] += seconds
        self.rows[part] += rows

    def report(self, out: Callable[[str], None]) -> None:
        for part, seconds in self.seconds.items():
            rows = self.rows[part]
            rate = f"{rows / seconds:>12,.0f} rows/s" if rows and seconds else ""
            out(f"  {part:<32} {seconds:8.2f} s {rows:>12,} rows {rate}")
        for note in self.notes:
            out(f"  {note}")


def process_cpu_seconds(pid: int) -> float | None:
    """Return user+system CPU seconds of a process on this host (a local PostgreSQL backend), if readable.

    On a shared machine wall time mostly measures the neighbours; CPU time measures the work.
    """
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # Fields 14 and 15 of proc(5) (utime, stime); index 11 and 12 after the ")" that ends the name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
