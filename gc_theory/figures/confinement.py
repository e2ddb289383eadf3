"""Hyperplane confinement: GC keeps each weight vector on the plane through w_0 orthogonal to e.

Two figures: a 3-input unit's weight trajectory in 3-D with and without GC,
and the residual |e^T(w_t - w_0)| over t for SGD, momentum, Nesterov and Adam
with GC on the gradient and on the update (claims ``gc.confinement.*``).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from gc_theory import optim
from gc_theory.gc.centralization import unit_vector
from . import figure

SEED = 7


def three_input_unit(gc: str | None, steps: int = 80, seed: int = SEED, lr: float = 0.05) -> np.ndarray:
    """Weights w_t in R^3 of a linear unit y = w^T x trained by mini-batch SGD-momentum on least squares.

    Returns an array of shape (steps + 1, 3). The targets have a nonzero mean,
    so the gradients do too, and without GC the weights move along e.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((240, 3)) + np.array([0.8, 0.5, 0.2])
    y = X @ np.array([2.0, -0.5, 1.0]) + 0.1 * rng.standard_normal(240)
    batches = np.array_split(rng.permutation(240), 12)
    w0 = np.array([[-0.6, 0.4, -0.2]])  # one output unit: a (1, 3) weight, fully connected layout

    def grad(p: dict, t: int) -> dict:
        idx = batches[t % len(batches)]
        r = X[idx] @ p["w"][0] - y[idx]
        return {"w": (r @ X[idx] / len(idx))[None, :]}

    traj = optim.record_trajectory(optim.SGD(lr, momentum=0.8, gc=gc), {"w": w0}, grad, steps)
    return np.stack([p["w"][0] for p in traj.params])


def residual_curves(steps: int = 200, seed: int = SEED) -> dict[str, np.ndarray]:
    """max over weight vectors of |e^T(w_t - w_0)| for t = 1..steps, per optimiser and GC placement."""
    from gc_theory.verify.context import Context
    from gc_theory.problems.regression import init_params, tanh_regression

    shapes = {"fc.weight": (8, 12), "conv.weight": (6, 3, 3, 3)}
    ctx = Context.create("numpy", "float64", seed, salt="confinement figure")
    grad_fn = tanh_regression(ctx, shapes)
    params = init_params(ctx, shapes)
    makers = {
        "SGD": lambda gc: optim.SGD(0.3, gc=gc),
        "momentum": lambda gc: optim.SGD(0.1, momentum=0.9, gc=gc),
        "Nesterov": lambda gc: optim.SGD(0.1, momentum=0.9, nesterov=True, gc=gc),
        "Adam": lambda gc: optim.Adam(0.02, gc=gc),
    }
    curves = {}
    for name, make in makers.items():
        for gc in ("gradient", "update", None):
            if gc is None and name != "SGD":
                continue
            traj = optim.record_trajectory(make(gc), params, grad_fn, steps)
            curves[(name, gc)] = np.array([
                max(float(np.abs((p[k] - params[k]).reshape(params[k].shape[0], -1).sum(axis=1)).max())
                    / np.sqrt(np.prod(params[k].shape[1:])) for k in shapes)
                for p in traj.params[1:]
            ])  # fmt: skip
    return curves


@figure("confinement_trajectory")
def confinement_trajectory() -> Figure:
    """A 3-input unit's weights in 3-D: on the plane through w_0 orthogonal to (1,1,1) with GC, leaving it without."""
    with_gc, without = three_input_unit("gradient"), three_input_unit(None)
    w0, e = with_gc[0], unit_vector(3)
    fig = Figure(figsize=(10.0, 4.6), layout="constrained")
    grid = fig.add_gridspec(1, 2, width_ratios=(1.5, 1.0))
    ax = fig.add_subplot(grid[0], projection="3d")
    ax.set_box_aspect(None, zoom=0.95)
    # The plane {w : e^T (w - w0) = 0}, parametrised by two unit vectors orthogonal to e.
    a = np.array([1.0, -1.0, 0.0]) / np.sqrt(2)
    b = np.cross(e, a)
    s = np.linspace(-1.4, 1.4, 2)
    S, T = np.meshgrid(s, s)
    plane = w0[:, None, None] + a[:, None, None] * S + b[:, None, None] * T
    ax.plot_surface(*plane, alpha=0.15, color="0.4", linewidth=0)
    ax.plot(*with_gc.T, color="C0", label="GC-SGD-momentum")
    ax.plot(*without.T, color="C1", label="SGD-momentum, no GC")
    ax.scatter(*w0, color="k", s=18)
    ax.text(*w0, "  $w_0$", fontsize=9)
    ax.quiver(*w0, *e, color="k", arrow_length_ratio=0.15, linewidth=1.0)
    ax.text(*(w0 + 1.1 * e), "e", fontsize=10)
    ax.set(xlabel="$w_1$", ylabel="$w_2$", zlabel="$w_3$")
    ax.locator_params(nbins=4)
    ax.view_init(elev=12, azim=-62)  # nearly edge-on to the plane, so leaving it shows
    ax.legend(loc="upper left")
    ax.set_title("weights of a 3-input unit; the plane $e^\\top(w - w_0) = 0$")

    drift = fig.add_subplot(grid[1])
    t = np.arange(len(with_gc))
    drift.plot(t, (without - w0) @ e, color="C1", label="no GC")
    drift.plot(t, (with_gc - w0) @ e, color="C0", label="GC (zero to rounding)")
    drift.set(xlabel="step $t$", ylabel="$e^\\top(w_t - w_0)$")
    drift.set_title("distance from the plane")
    drift.legend()
    return fig


@figure("confinement_residual")
def confinement_residual() -> Figure:
    """|e^T(w_t - w_0)| over t, log scale: SGD, momentum, Nesterov, Adam with GC on the gradient and on the update."""
    curves = residual_curves()
    floor = 1e-18  # exact zeros would be drawn here
    fig = Figure(figsize=(7.4, 4.4), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    colors = {"SGD": "C0", "momentum": "C2", "Nesterov": "C3", "Adam": "C1"}
    for (name, gc), r in curves.items():
        t = np.arange(1, len(r) + 1)
        style = {"gradient": "-", "update": "--", None: ":"}[gc]
        label = f"{name}, gc={gc!r}" if gc else f"{name}, no GC"
        ax.semilogy(t, np.maximum(r, floor), style, color="0.5" if gc is None else colors[name], label=label)
    eps = np.finfo(float).eps
    ax.axhline(eps, color="k", linewidth=0.7)
    ax.text(2, eps * 2, "machine epsilon", fontsize=8)
    ax.set(xlabel="step $t$", ylabel="$\\max_i |e^\\top(w_{i,t} - w_{i,0})|$", ylim=(floor, 30))
    ax.set_title("GC-SGD/momentum/Nesterov stay on the plane with either placement; Adam only with gc='update'")
    ax.legend(ncol=2, loc="center right")
    return fig
