"""Output-feature invariance: the response of a layer to a brightness shift of its input, during training."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from threadpoolctl import threadpool_limits

from gc_theory import optim
from gc_theory.datasets import load_digits
from gc_theory.models import mlp
from gc_theory.problems.invariance import shift_response
from gc_theory.experiments.training import full_batch_trajectory
from . import figure

SEED = 0
STEPS = 150
SHIFT = 1.0
#: Output units of the first layer drawn in the left panels.
UNITS = (0, 1, 2, 3, 4)


def invariance_runs(steps: int = STEPS, seed: int = SEED, n_samples: int = 300) -> dict[str, list[dict[str, Any]]]:
    """First-layer weights of a 64-32-10 MLP trained full-batch on digits with momentum, with and without GC.

    Keys: ``"no GC"``, ``"GC"`` and ``"GC, zero-mean init"``; each value is the
    list of weights ``W_0, ..., W_steps`` of layer ``"0.weight"`` (32, 64).
    """
    from gc_theory.gc.centralization import centralize

    data = load_digits()
    batch = (data.x_train[:n_samples], data.y_train[:n_samples])
    net = mlp([64, 32, 10])
    params = net.init(seed)
    runs = {}
    for label, gc, zero_mean in (("no GC", None, False), ("GC", "gradient", False), ("GC, zero-mean init", "gradient", True)):
        start = {k: (centralize(v) if zero_mean and v.ndim > 1 else v) for k, v in params.items()}
        opt = optim.SGD(lr=0.05, momentum=0.9, gc=gc)
        with threadpool_limits(limits=1, user_api="blas"):  # tiny matrices: see training.digits_experiment
            iterates, _ = full_batch_trajectory(opt, start, net, batch, steps)
        runs[label] = [p["0.weight"] for p in iterates]
    return runs


@figure("output_invariance")
def output_invariance(steps: int = STEPS, seed: int = SEED) -> Figure:
    """Left, middle: response W_t(x + 1) - W_t x of five first-layer units over training, without and with GC.
    Right: its distance from W_0 1 (max over units and probes), log scale."""
    runs = invariance_runs(steps, seed)
    probes = np.random.default_rng(seed).standard_normal((8, 64))
    t = np.arange(steps + 1)
    fig = Figure(figsize=(12.0, 3.8), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, label in zip(axes[:2], ("no GC", "GC")):
        ws = runs[label]
        response = np.stack([shift_response(w, probes[:1], SHIFT)[0] for w in ws])  # (t, units)
        for i, unit in enumerate(UNITS):
            ax.plot(t, response[:, unit], color=f"C{i}", label=f"unit {unit}")
            ax.axhline(SHIFT * ws[0][unit].sum(), color=f"C{i}", linestyle=":", linewidth=0.8)
        ax.set(xlabel="step t", ylabel=r"$W_t(x+\mathbf{1}) - W_t x$", title=f"SGD-momentum, {label}")
    axes[0].legend(loc="best", fontsize=8)
    eps = np.finfo(float).eps
    for i, (label, ws) in enumerate(runs.items()):
        w0_sum = ws[0].sum(axis=1) if label != "GC, zero-mean init" else np.zeros(ws[0].shape[0])
        dist = [np.max(np.abs(shift_response(w, probes, SHIFT) - SHIFT * w0_sum)) for w in ws]
        axes[2].semilogy(t[1:], np.maximum(dist[1:], eps / 4), color=f"C{i}", label=label)
    axes[2].axhline(eps, color="k", linestyle="--", linewidth=0.8, label=r"machine $\epsilon$")
    axes[2].set(xlabel="step t", ylabel=r"$\max |W_t(x+\mathbf{1}) - W_t x - W_0\mathbf{1}|$",
                title="distance from the initial response")  # fmt: skip
    axes[2].legend(loc="center right", fontsize=8)
    return fig
