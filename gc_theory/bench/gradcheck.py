"""Gradient checking: evaluations of f, wall time, and accuracy per evaluation.

For a black-box f of n parameters the cost floor is set by evaluations of f,
so every row counts them. Targets (issue 4):

* directional check of a 10^6-parameter model in at most 8 evaluations;
* one wrong entry among 10^5 localised in at most 4 log2(n) evaluations, against
  the 2n of a full central-difference check (ratio of evaluations and of time,
  same model and bug);
* at n = 10^4, the default central difference at least 100x more accurate than
  scipy.optimize.approx_fprime's default (max error against the exact gradient);
* the full numerical gradient within 1.3x of the time of its 2n bare evaluations;
* where ``vectorized=True`` pays off, and the accuracy floor of each method in
  float64 and float32.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import numpy as np

from gc_theory.verify.context import Context
from gc_theory.gradcheck import directional_check, localize, numerical_gradient, ravel_params
from gc_theory.gradcheck.curves import rms_error_curve
from . import Report, benchmark, measure

METHODS = ("forward", "central", "richardson", "complex")


def smooth_problem(n: int, seed: int = 0) -> tuple[np.ndarray, Any, Any, np.ndarray]:
    """f(x) = sum c_i exp(x_i/2) sin(x_i), written for real or complex x, with its exact gradient."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, n)
    c = rng.uniform(0.5, 1.5, n)

    def f(z: Any) -> Any:
        return np.sum(c * np.exp(z / 2) * np.sin(z), axis=-1)

    def grad(z: np.ndarray) -> np.ndarray:
        return c * np.exp(z / 2) * (0.5 * np.sin(z) + np.cos(z))

    return x, f, grad, grad(x)


def mlp_problem(sizes: list[int], batch: int, bug: int | None, seed: int = 0) -> tuple[np.ndarray, Any, Any]:
    """A tanh MLP's loss as a function of its flattened parameters, and a gradient with entry `bug` negated."""
    from gc_theory.models import mlp

    net = mlp(sizes, activation="tanh")
    rng = np.random.default_rng(seed)
    data = (rng.standard_normal((batch, sizes[0])), rng.integers(0, sizes[-1], batch))
    v, unravel = ravel_params(net.init(seed))

    def f(w: np.ndarray) -> Any:
        return net.loss(unravel(w), data)

    def grad(w: np.ndarray) -> np.ndarray:
        g = ravel_params(net.loss_and_grad(unravel(w), data)[1])[0]
        if bug is not None:
            g = g.copy()
            g[bug] = -g[bug]
        return g

    return v, f, grad


def _directional(quick: bool, rows: list, data: list, targets: dict) -> None:
    sizes = [100, 96, 10] if quick else [1000, 1000, 10]
    v, f, grad = mlp_problem(sizes, 16, None)
    timing = measure(lambda: directional_check(f, grad, v), 3)
    report = directional_check(f, grad, v)
    # The bare cost: f at as many distinct points (fresh arrays, as the check makes) and one gradient.
    points = [v + 1e-6 * k for k in range(report.evaluations)]
    evals = measure(lambda: [f(p) for p in points], 3).median
    backward = measure(lambda: grad(v), 3).median
    one = evals / report.evaluations
    bare = evals + backward
    rows.append(["directional check", v.size, report.evaluations, timing.median, timing.median / bare, "passed" if report.passed else "FAILED"])
    data.append({"case": "directional", "n": v.size, "evaluations": report.evaluations, "seconds": timing.median,
                 "f_seconds": one, "grad_seconds": backward})  # fmt: skip
    targets[f"directional check of a {v.size:,}-parameter model in <= 8 evaluations"] = report.evaluations <= 8 and report.passed


def _localisation(quick: bool, rows: list, data: list, targets: dict) -> None:
    sizes = [30, 33, 10] if quick else [300, 330, 10]
    bug = 5142 if not quick else 517
    v, f, grad = mlp_problem(sizes, 32, bug)
    n = v.size
    start = time.perf_counter()
    found = localize(f, grad, v)
    t_loc = time.perf_counter() - start
    # The full central-difference check: every entry at 2 evaluations. In full mode it is timed on a
    # random 1000 entries and scaled to n (each entry costs the same two evaluations of the same f).
    sample = n if quick else 1000
    entries = None if quick else np.random.default_rng(1).choice(n, size=sample, replace=False)
    start = time.perf_counter()
    result = numerical_gradient(f, v, h=1e-5 * np.maximum(np.abs(v), 1.0), entries=entries, full_output=True)
    t_full = (time.perf_counter() - start) * n / sample
    ok = found.indices.tolist() == [bug] and found.evaluations <= 4 * math.log2(n)
    note = "" if quick else f" (timed on {sample} entries, scaled)"
    rows.append(["localize one wrong entry", n, found.evaluations, t_loc, "", "found" if found.indices.tolist() == [bug] else "MISSED"])
    rows.append([f"full central difference{note}", n, 2 * n, t_full, "", ""])
    rows.append(["  ratio full / localize", n, 2 * n / found.evaluations, t_full / t_loc, "", ""])
    data.append({"case": "localize", "n": n, "evaluations": found.evaluations, "seconds": t_loc, "full_evaluations": 2 * n,
                 "full_seconds": t_full, "full_timed_entries": sample, "sample_evaluations": result.evaluations})  # fmt: skip
    targets[f"one wrong entry among {n:,} localised in <= 4 log2(n) = {4 * math.log2(n):.0f} evaluations"] = ok


def _accuracy(quick: bool, rows: list, data: list, targets: dict) -> None:
    from scipy.optimize import approx_fprime

    n = 1000 if quick else 10_000
    x, f, _, exact = smooth_problem(n)
    scale = np.max(np.abs(exact))
    start = time.perf_counter()
    theirs = approx_fprime(x, f)
    t_scipy = time.perf_counter() - start
    err_scipy = float(np.max(np.abs(theirs - exact)) / scale)
    rows.append(["scipy approx_fprime (default)", n, n + 1, t_scipy, err_scipy, 1.0])
    data.append({"case": "accuracy", "method": "approx_fprime", "n": n, "evaluations": n + 1, "seconds": t_scipy, "max_rel_error": err_scipy})
    central_err = math.nan
    for method in ("central", "richardson", "complex"):
        start = time.perf_counter()
        r = numerical_gradient(f, x, method, full_output=True)
        seconds = time.perf_counter() - start
        err = float(np.max(np.abs(r.value - exact)) / scale)
        central_err = err if method == "central" else central_err
        rows.append([f"gc_theory {method} (default step)", n, r.evaluations, seconds, err, err_scipy / err if err else math.inf])
        data.append({"case": "accuracy", "method": method, "n": n, "evaluations": r.evaluations, "seconds": seconds, "max_rel_error": err})
    targets[f"n = {n:,}: default central >= 100x more accurate than approx_fprime's default"] = err_scipy >= 100 * central_err


def _overhead(quick: bool, repeats: int, rows: list, data: list, targets: dict) -> None:
    n = 1000 if quick else 10_000
    x, f, _, _ = smooth_problem(n)
    h = 1e-5 * np.maximum(np.abs(x), 1.0)

    def bare() -> None:
        for _ in range(2 * n):
            f(x)

    full = measure(lambda: numerical_gradient(f, x, h=h), max(1, repeats // 2))
    alone = measure(bare, max(1, repeats // 2))
    ratio = full.median / alone.median
    rows.append(["central gradient, explicit h", n, 2 * n, full.median, ratio, ""])
    rows.append(["  its 2n bare evaluations of f", n, 2 * n, alone.median, 1.0, ""])
    data.append({"case": "overhead", "n": n, "gradient_seconds": full.median, "bare_seconds": alone.median, "ratio": ratio})
    targets["full numerical gradient <= 1.3x its 2n bare evaluations"] = ratio <= 1.3


def _vectorized(quick: bool, repeats: int, rows: list, data: list) -> list[str]:
    notes = []
    for n in (10, 100, 1000) if quick else (10, 100, 1000, 10_000):
        x, f, _, _ = smooth_problem(n)
        h = 1e-5 * np.maximum(np.abs(x), 1.0)
        loop = measure(lambda: numerical_gradient(f, x, h=h), max(1, repeats // 2))
        vec = measure(lambda: numerical_gradient(f, x, h=h, vectorized=True), max(1, repeats // 2))
        speedup = loop.median / vec.median
        rows.append(["vectorized=True vs loop", n, 2 * n, vec.median, speedup, "helps" if speedup > 1.2 else "no gain"])
        data.append({"case": "vectorized", "n": n, "loop_seconds": loop.median, "vectorized_seconds": vec.median, "speedup": speedup})
    notes.append("vectorized: speed-up = loop time / batched time for f = sum(c exp(x/2) sin x), an O(n) function; "
                 "batches hold about 4M elements of x (n = 10^4: 419 points per call)")  # fmt: skip
    return notes


def _floors(rows: list, data: list) -> None:
    for dtype in ("float64", "float32"):
        ctx = Context.create("numpy", dtype, 0, "bench.gradcheck")
        for method in METHODS:
            # Steps from 4 eps upward (below, x + h rounds to x); the complex step has no such limit.
            hs = np.geomspace(1e-30 if method == "complex" else 4 * ctx.eps, 0.5, 90)
            curve = rms_error_curve(ctx.asarray(np.linspace(0.5, 1.5, 256)), method, hs)
            k = int(np.argmin(curve))
            rows.append([f"accuracy floor {method} ({dtype})", 256, "", "", float(curve[k]), f"at h = {hs[k]:.2g}"])
            data.append({"case": "floor", "dtype": dtype, "method": method, "best_rms_rel_error": float(curve[k]), "best_h": float(hs[k])})


@benchmark("gradcheck")
def bench_gradcheck(repeats: int = 7, quick: bool = False) -> Report:
    headers = ["case", "n", "evaluations", "seconds", "error / ratio", "note"]
    rows: list[list[Any]] = []
    data: list[dict[str, Any]] = []
    targets: dict[str, bool] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _directional(quick, rows, data, targets)
        _localisation(quick, rows, data, targets)
        _accuracy(quick, rows, data, targets)
        _overhead(quick, repeats, rows, data, targets)
        notes = _vectorized(quick, repeats, rows, data)
        _floors(rows, data)
    notes += [
        "directional: 'error / ratio' = its wall time over that of its 8 evaluations of f and one of the gradient",
        "accuracy: max |error| / max |gradient| against the exact gradient; 'ratio' column = approx_fprime's error / ours",
        "accuracy floor: best RMS relative error of f' over h for f = exp at 256 points in [0.5, 1.5]",
    ]
    return Report("gradcheck (CPU, NumPy, medians)", headers, rows, targets=targets, notes=notes, data=data)
