"""Benchmark: each assertion of :mod:`gc_theory.testing` with its default number of examples (target: < 2 s each)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gc_theory import optim, weightnorm
from gc_theory.testing import (
    assert_centralizes, assert_confined, assert_gradient, assert_hvp, assert_optimizer_matches, assert_projection,
    assert_weight_norm,
)  # fmt: skip

from . import Report, benchmark, measure

TARGET_S = 2.0


def _gc(g: Any) -> Any:
    return g - g.mean(axis=tuple(range(1, g.ndim)), keepdims=True) if g.ndim > 1 else g


def _cases() -> list[tuple[str, Any]]:
    X = np.random.default_rng(0).standard_normal((32, 8))

    def loss(p: dict[str, Any]) -> float:
        return float(np.sum(np.tanh(X @ p["W"] + p["b"]) ** 2))

    def grad(p: dict[str, Any]) -> dict[str, Any]:
        z = X @ p["W"] + p["b"]
        d = 2 * np.tanh(z) * (1 - np.tanh(z) ** 2)
        return {"W": X.T @ d, "b": d.sum(axis=0)}

    params = {"W": np.eye(8) / 2, "b": np.zeros(8)}
    A = np.diag(np.arange(1.0, 21.0))
    u = np.random.default_rng(1).standard_normal(32)
    P = np.eye(32) - np.outer(u, u) / (u @ u)
    rng = np.random.default_rng(2)
    trajectory = optim.record_trajectory(optim.SGD(lr=0.1, momentum=0.9, gc="gradient"),
                                         {"W": rng.standard_normal((16, 32)), "b": np.zeros(16)},
                                         lambda p, t: {k: np.tanh(v) + 0.5 for k, v in p.items()}, 30)
    return [("assert_centralizes (24 examples)", lambda: assert_centralizes(_gc)),
            ("assert_projection (M=32)", lambda: assert_projection(P, u)),
            ("assert_gradient (dict, 72 entries)", lambda: assert_gradient(loss, grad, params)),
            ("assert_hvp (n=20)", lambda: assert_hvp(lambda x: A @ x + x**3, lambda x, v: A @ v + 3 * x**2 * v,
                                                      np.linspace(-1, 1, 20))),
            ("assert_weight_norm (24 examples)", lambda: assert_weight_norm(weightnorm.weight_norm,
                                                                            weightnorm.weight_norm_backward)),
            ("assert_optimizer_matches (Adam+GC, 4 x 20 steps)",
             lambda: assert_optimizer_matches(optim.Adam(lr=1e-2, gc="gradient"), optim.Adam(lr=1e-2, gc="gradient"))),
            ("assert_confined (30 steps)", lambda: assert_confined(trajectory))]  # fmt: skip


@benchmark("testing")
def bench_testing(repeats: int = 5, quick: bool = False) -> Report:
    rows, data, ok = [], [], []
    for label, fn in _cases():
        t = measure(fn, 1 if quick else repeats)
        rows.append([label, t.median * 1e3, t.max * 1e3])
        data.append({"assertion": label, "median_s": t.median, "max_s": t.max})
        ok.append(t.max < TARGET_S)
    report = Report("gc_theory.testing assertions (float64 and float32, CPU)", ["assertion", "median ms", "max ms"], rows, data=data)
    report.targets[f"each assertion under {TARGET_S} s"] = all(ok)
    return report
