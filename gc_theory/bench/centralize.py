"""centralize() against a plain copy, the two-pass expression, P @ G and torch.

Target (on CPU, tensors of 16 MB and more): centralize takes at most 1.5x the
time of a copy of the same tensor, and no longer than torch's
``g - g.mean(dims, keepdim=True)`` on the same number of threads (one: the
NumPy path is single-threaded).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gc_theory.gc.centralization import as_columns, centralize, projection_matrix
from . import Report, benchmark, measure, torch_available, torch_one_thread_median

#: (label, shape): FC (out, in) and conv (out, in, 3, 3) at about 1, 16 and 128 MB of float64.
CASES = (
    ("fc 1MB", (256, 512)),
    ("conv 1MB", (128, 128, 3, 3)),
    ("fc 16MB", (2048, 1024)),
    ("conv 16MB", (512, 512, 3, 3)),
    ("fc 128MB", (4096, 4096)),
    ("conv 128MB", (1024, 2048, 3, 3)),
)
QUICK_CASES = (("fc 1MB", (256, 512)), ("conv 1MB", (128, 128, 3, 3)))
#: P @ G needs an M x M matrix and M^2 N flops: skipped above this M.
MAX_DENSE_M = 4608
COPY_RATIO_TARGET = 1.5


def _two_pass(g: np.ndarray) -> np.ndarray:
    return g - g.mean(axis=tuple(range(1, g.ndim)), keepdims=True)


def _torch_fn(g: np.ndarray) -> Any:
    try:
        import torch
    except ImportError:
        return None
    t = torch.from_numpy(g)
    dims = tuple(range(1, g.ndim))
    return lambda: t - t.mean(dims, keepdim=True)


@benchmark("centralize")
def bench_centralize(repeats: int = 7, quick: bool = False) -> Report:
    rng = np.random.default_rng(0)
    headers = ["case", "MB", "copy ms", "centralize ms", "/copy", "two-pass /copy", "P@G /copy", "torch-1t /copy", "centralize/torch-1t"]
    rows, data = [], []
    targets_copy, targets_torch = [], []
    for label, shape in QUICK_CASES if quick else CASES:
        g = rng.standard_normal(shape)
        mb = g.nbytes / 2**20
        copy = measure(g.copy, repeats)
        ours = measure(lambda: centralize(g), repeats)
        two = measure(lambda: _two_pass(g), repeats)
        M = math.prod(shape[1:])
        if M <= MAX_DENSE_M:
            P = projection_matrix(M)
            cols = np.ascontiguousarray(as_columns(g))
            dense = measure(lambda: P @ cols, max(1, min(repeats, 3))).median
        else:
            dense = math.nan
        torch_t = torch_one_thread_median(_torch_fn(g), repeats)
        ratio = ours.median / copy.median
        vs_torch = ours.median / torch_t if math.isfinite(torch_t) else math.nan
        rows.append([label, round(mb, 1), copy.median * 1e3, ours.median * 1e3, ratio, two.median / copy.median,
                     dense / copy.median, torch_t / copy.median, vs_torch])  # fmt: skip
        data.append({"case": label, "shape": shape, "mb": mb, "copy_s": copy.median, "centralize_s": ours.median,
                     "centralize_min_s": ours.min, "centralize_max_s": ours.max, "two_pass_s": two.median,
                     "dense_P_s": None if math.isnan(dense) else dense,
                     "torch_1thread_s": None if math.isnan(torch_t) else torch_t})  # fmt: skip
        if mb >= 16:
            targets_copy.append(ratio <= COPY_RATIO_TARGET)
            if math.isfinite(vs_torch):
                targets_torch.append(vs_torch <= 1.0)
    report = Report("centralize (float64, CPU, medians)", headers, rows, data=data)
    if targets_copy:
        report.targets[f"centralize <= {COPY_RATIO_TARGET}x copy for tensors >= 16 MB"] = all(targets_copy)
    if targets_torch:
        report.targets["centralize no slower than torch (1 thread) for tensors >= 16 MB"] = all(targets_torch)
    report.notes.append(f"P@G skipped (NaN) where M > {MAX_DENSE_M}: P alone would need M^2*8 bytes")
    if not torch_available():
        report.notes.append("torch not installed: its columns are NaN")
    return report
