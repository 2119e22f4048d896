"""Wall-clock time and row counts per part of a benchmark, printed with rows per second."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable


class Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.rows: dict[str, int] = defaultdict(int)

    def add(self, part: str, seconds: float, rows: int = 0) -> None:
        self.seconds[part] += seconds
        self.rows[part] += rows

    def report(self, out: Callable[[str], None]) -> None:
        for part, seconds in self.seconds.items():
            rows = self.rows[part]
            rate = f"{rows / seconds:>12,.0f} rows/s" if rows and seconds else ""
            out(f"  {part:<32} {seconds:8.2f} s {rows:>12,} rows {rate}")
