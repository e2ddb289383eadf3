"""Side-by-side timing: several functions timed in turn, round after round.

Two implementations compared on a shared machine must see the same load: timing
one for all its repeats and then the other lets a burst of other work land on
one side only. :func:`interleaved` runs one call of each per round, so any
load hits them alike, and the ratio of their medians is the number to report.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from gc_theory.core.validation import check_callable, check_int
from . import Timing

__all__ = ["interleaved"]


def interleaved(fns: Sequence[Callable[[], Any]], repeats: int) -> list[Timing]:
    """Time each of `fns` `repeats` times, one call of each per round, after one untimed warm-up call each.

    Returns
    -------
    list of Timing
        One per function, in the order given.
    """
    fns = [check_callable(fn, f"fns[{i}]") for i, fn in enumerate(fns)]
    repeats = check_int(repeats, "repeats", minimum=1)
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, out in zip(fns, times):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return [Timing(statistics.median(t), min(t), max(t), repeats) for t in times]
