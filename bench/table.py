"""Timing and printing helpers shared by the benchmarks.

Rules: measure with time.perf_counter over a fixed amount of work, repeat and keep the
best run (the least disturbed by the rest of the machine), print one plain-text table.
"""

import time
from collections.abc import Callable, Sequence


def best_rate(work: Callable[[], int], repeats: int = 5) -> float:
    """Operations per second of `work` (which returns how many operations it did), best
    of `repeats` runs."""
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        done = work()
        elapsed = time.perf_counter() - start
        best = max(best, done / elapsed)
    return best


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(c) for c in header]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        padded = (
            c.rjust(w) if i else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        print("  ".join(padded))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return str(value)
