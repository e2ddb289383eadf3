"""Benchmarks: scripts that print a table and can save JSON (never timed tests).

Each public module here registers one benchmark with :func:`benchmark`: a
function ``(repeats, quick) -> Report``. Times are medians over `repeats`
runs after a warm-up, and every speed target is stated as a *ratio* to a
reference measured in the same run (a plain copy, torch, the bare function
evaluations), because absolute times drift on shared machines.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from gc_theory.core.io import atomic_write_text
from gc_theory.core.validation import check_int
from gc_theory.core.registry import Registry

__all__ = ["BENCHMARKS", "Report", "Timing", "benchmark", "format_table", "machine_info", "measure", "names", "run", "select"]


@dataclass(frozen=True)
class Timing:
    """Median, minimum and maximum wall time of `repeats` runs, in seconds."""

    median: float
    min: float
    max: float
    repeats: int


def measure(fn: Callable[[], Any], repeats: int = 7, warmup: int = 1) -> Timing:
    """Time ``fn()`` `repeats` times after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return Timing(statistics.median(times), min(times), max(times), repeats)


@dataclass
class Report:
    """What a benchmark prints (a table) and saves (rows as JSON), and whether its targets were met."""

    name: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]
    targets: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    data: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every target met (a benchmark without targets meets them all)."""
        return all(self.targets.values())

    @property
    def missed(self) -> list[str]:
        """The targets this run missed, in the order they were stated."""
        return [t for t, met in self.targets.items() if not met]

    def text(self) -> str:
        lines = [f"== {self.name}", format_table(self.headers, self.rows)]
        lines += [f"target {'met    ' if met else 'MISSED '} {t}" for t, met in self.targets.items()]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def torch_available() -> bool:
    """Whether torch, the benchmarks' outside reference, is installed."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def torch_one_thread_median(fn: Callable[[], Any] | None, repeats: int) -> float:
    """Median time of ``fn()`` (a torch reference) with torch held to one thread; NaN when there is none.

    One thread, because the toolkit's NumPy paths run on one core and a ratio
    is only fair between like and like. torch's own thread count is restored.
    """
    if fn is None:
        return math.nan
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return measure(fn, repeats).median
    finally:
        torch.set_num_threads(before)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain fixed-width table (Markdown-compatible pipes)."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    fmt = lambda r: "| " + " | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([fmt(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [fmt(r) for r in cells[1:]])


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.3e}"
    return str(v)


def machine_info() -> dict[str, Any]:
    """Where the numbers were measured."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "processor": _cpu_model(),
        "cpus": os.cpu_count(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        pass
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


Benchmark = Callable[[int, bool], Report]

#: Every benchmark, registered by the public modules of this package when imported.
BENCHMARKS: Registry[Benchmark] = Registry("benchmark", __name__)


def benchmark(name: str) -> Callable[[Benchmark], Benchmark]:
    """Register ``fn(repeats, quick) -> Report`` as benchmark `name`."""
    return BENCHMARKS.decorator(name)


def names() -> list[str]:
    """Every benchmark name, sorted."""
    return sorted(BENCHMARKS.names())


def select(pattern: str | None = None) -> list[str]:
    """Benchmark names matching `pattern`, sorted: a glob, an exact name or a dotted prefix (:mod:`gc_theory.core.registry`)."""
    return sorted(BENCHMARKS.select(pattern))


def run(selected: Sequence[str], repeats: int = 7, quick: bool = False, json_path: str | None = None) -> list[Report]:
    """Run, print each table as it finishes (targets marked met or MISSED), optionally save JSON.

    Returns the reports. A missed target is a measurement, not a failure of the
    harness (speed depends on the machine and its load): the caller decides
    whether it should fail (``gc-theory bench --strict``). In the JSON, each
    benchmark carries ``targets`` (statement -> met) and ``missed``.
    """
    check_int(repeats, "repeats", minimum=1)
    reports = []
    for name in selected:
        report = BENCHMARKS.get(name)(repeats, quick)
        print(report.text(), flush=True)
        print()
        reports.append(report)
    if json_path:
        payload = {"machine": machine_info(), "repeats": repeats, "quick": quick,
                   "benchmarks": [{**asdict(r), "missed": r.missed} for r in reports]}  # fmt: skip
        atomic_write_text(json_path, json.dumps(payload, indent=2, default=str) + "\n")
    return reports
