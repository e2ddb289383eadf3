r"""Weight Normalization :math:`w = g\,v/\|v\|`: its geometry in v-space and data-dependent initialisation.

Two figures: the level sets of the loss in v-space (rays), an SGD path of v
whose steps are orthogonal to v so that :math:`\|v_t\|` grows and the
effective step :math:`g^2/\|v_t\|^2` shrinks (claims ``wn.grad_v.orthogonal``,
``wn.norm_growth``, ``wn.effective_lr``); and the pre-activations of a small
network before and after data-dependent initialisation (claim ``wn.init.moments``).

Reference: T. Salimans, D. P. Kingma, "Weight Normalization", NeurIPS 2016,
arXiv:1602.07868, Sec. 2.1 (gradients, norm growth) and Sec. 3 (initialisation).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .. import optim
from ..models import Linear, ReLU, Sequential, WeightNorm
from ..models.normalization import data_dependent_init_network
from ..weightnorm import weight_norm, weight_norm_backward
from . import figure

SEED = 5
#: The learning rates of the norm-growth panels (two decades).
LEARNING_RATES = (0.01, 0.03, 0.1, 0.3, 1.0)


def plane_problem(seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    r"""(A, w_star) of the 2-D quadratic :math:`L(w) = \tfrac12 (w - w_*)^\top A (w - w_*)`."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((2, 2)))
    return q @ np.diag([3.0, 0.5]) @ q.T, np.array([1.2, 0.9])


def plane_loss(v: np.ndarray, g: float, seed: int = SEED) -> np.ndarray:
    """L(w(v)) at g fixed for v of shape (..., 2): depends on the direction of v only."""
    A, w_star = plane_problem(seed)
    w = g * v / np.linalg.norm(v, axis=-1, keepdims=True)
    d = w - w_star
    return 0.5 * np.einsum("...i,ij,...j->...", d, A, d)


def best_direction(g: float = 1.0, seed: int = SEED) -> np.ndarray:
    """The unit vector u minimising L(g u) for the 2-D quadratic (a grid over angles, to 0.01 degree)."""
    theta = np.radians(np.arange(0.0, 360.0, 0.01))
    u = np.stack([np.cos(theta), np.sin(theta)], axis=-1)
    return u[int(np.argmin(plane_loss(u, g, seed)))]


def plane_path(lr: float, steps: int, g: float = 1.0, v0: tuple[float, float] = (-1.0, 0.3),
               seed: int = SEED) -> np.ndarray:
    """Plain SGD on v (g held fixed) for the 2-D quadratic; the path v_t, shape (steps + 1, 2)."""
    A, w_star = plane_problem(seed)
    gv = np.array([g])
    v = np.array([v0])
    path = [v[0]]
    for _ in range(steps):
        grad_w = (weight_norm(v, gv) - w_star) @ A
        grad_v, _ = weight_norm_backward(v, gv, grad_w)
        v = v - lr * grad_v
        path.append(v[0])
    return np.array(path)


def norm_growth_run(lr: float, steps: int = 300, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    r"""Mini-batch SGD on (v, g) of a 16-input, 4-unit least-squares layer: :math:`\|v_t\|` and :math:`g_t^2/\|v_t\|^2` per unit.

    Returns two arrays of shape (steps + 1, 4). The 256 examples have noisy
    targets and the batches hold 8 of them, so the gradients never vanish. v
    starts with unit norm and g at 1.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((256, 16))
    y = x @ rng.standard_normal((16, 4)) / 4 + 0.5 * rng.standard_normal((256, 4))
    v = rng.standard_normal((4, 16))
    params = {"v": v / np.linalg.norm(v, axis=1, keepdims=True), "g": np.ones(4)}
    opt = optim.SGD(lr)
    state = opt.init(params)
    batches = rng.integers(0, 256, size=(steps, 8))
    norms, eff = [], []
    for t in range(steps + 1):
        n = np.linalg.norm(params["v"], axis=1)
        norms.append(n)
        eff.append(params["g"] ** 2 / n**2)
        if t == steps:
            break
        xb, yb = x[batches[t]], y[batches[t]]
        grad_w = (xb @ weight_norm(params["v"], params["g"]).T - yb).T @ xb / len(xb)
        grad_v, grad_g = weight_norm_backward(params["v"], params["g"], grad_w)
        params, state = opt.step(params, {"v": grad_v, "g": grad_g}, state)
    return np.array(norms), np.array(eff)


@figure("weightnorm_norm_growth")
def weightnorm_norm_growth(seed: int = SEED) -> Figure:
    r"""Left: L(g v/||v||) over the v-plane (g = 1): constant along rays; SGD paths of v turn outward.
    Middle and right: ||v_t|| and the effective step eta g_t^2/||v_t||^2 over t for learning rates over two decades."""
    fig = Figure(figsize=(12.0, 3.9), layout="constrained")
    ax = fig.add_subplot(1, 3, 1)
    s = np.linspace(-2.4, 2.4, 401)
    X, Y = np.meshgrid(s, s)
    V = np.stack([X, Y], axis=-1)
    r = np.hypot(X, Y)
    Z = np.where(r > 0.05, plane_loss(np.where(r[..., None] > 0.05, V, 1.0), 1.0, seed), np.nan)
    ax.contourf(X, Y, Z, levels=14, cmap="Greys", alpha=0.55)
    theta = np.linspace(0, 2 * np.pi, 200)
    for i, (lr, steps) in enumerate(((0.1, 40), (0.4, 40))):
        path = plane_path(lr, steps, seed=seed)
        c = f"C{i}"
        ax.plot(path[:, 0], path[:, 1], "o-", color=c, markersize=2.5, linewidth=1.0, label=fr"SGD on $v$, $\eta$ = {lr:g}")
        ax.plot(np.linalg.norm(path[-1]) * np.cos(theta), np.linalg.norm(path[-1]) * np.sin(theta),
                color=c, linewidth=0.7, linestyle=":")
    best = best_direction(1.0, seed)
    ax.plot([0, 2.6 * best[0]], [0, 2.6 * best[1]], color="k", linewidth=1.0, linestyle="--")
    ax.text(*(1.05 * best + np.array([0.05, -0.25])), "best direction", fontsize=8.5,
            rotation=np.degrees(np.arctan2(best[1], best[0])))
    ax.plot(0, 0, "k+", markersize=6)
    ax.set(xlim=(-2.4, 2.4), ylim=(-2.4, 2.4), aspect="equal", xlabel="$v_1$", ylabel="$v_2$")
    ax.set_title(r"$L(g\,v/\|v\|)$, $g = 1$: level sets are rays")
    ax.legend(loc="lower left")
    ax.grid(False)

    norm_ax = fig.add_subplot(1, 3, 2)
    eff_ax = fig.add_subplot(1, 3, 3)
    for i, lr in enumerate(LEARNING_RATES):
        norms, eff = norm_growth_run(lr, seed=seed)
        t = np.arange(len(norms))
        norm_ax.plot(t, norms.mean(axis=1), color=f"C{i}", label=fr"$\eta$ = {lr:g}")
        eff_ax.semilogy(t, lr * eff.mean(axis=1), color=f"C{i}", label=fr"$\eta$ = {lr:g}")
    norm_ax.set(xlabel="step $t$", ylabel=r"$\|v_t\|$ (mean over 4 units)")
    norm_ax.set_title(r"mini-batch SGD on $(v, g)$: $\|v_t\|$ never decreases")
    norm_ax.legend(loc="upper left")
    eff_ax.set(xlabel="step $t$", ylabel=r"$\eta\, g_t^2/\|v_t\|^2$ (mean over 4 units)")
    eff_ax.set_title(r"effective step of the direction, $\eta\, g_t^2/\|v_t\|^2$")
    # Same colours as the middle panel; a legend here would cover the curves.
    return fig


def init_network() -> Sequential:
    """The network of the initialisation figure: 64 -> 100 -> 100 -> 10 with ReLU, every layer weight-normalised."""
    return Sequential(WeightNorm(Linear(64, 100)), ReLU(), WeightNorm(Linear(100, 100)), ReLU(),
                      WeightNorm(Linear(100, 10)))


def preactivations(init_scale: float = 1.0, seed: int = SEED) -> dict[str, list[np.ndarray]]:
    """Pre-activations of every WeightNorm layer of :func:`init_network` on a batch of 256 digits.

    Keys ``"default"`` (v drawn by the layer, g = ||v||, so w is the plain
    layer's weight) and ``"data-dependent"`` (g and b from
    :func:`~gc_theory.models.normalization.data_dependent_init_network`
    on the same batch); each a list of (256, units) arrays, input layer first.
    """
    from ..data import load_digits

    d = load_digits(layout="flat")
    rng = np.random.default_rng(seed)
    x = np.asarray(d.x_train)[rng.choice(len(d.x_train), 256, replace=False)]
    net = init_network()
    params = net.init(rng)
    out = {}
    for kind, p_all in (("default", params),
                        ("data-dependent", data_dependent_init_network(net, params, x, init_scale=init_scale))):
        h, pre = x, []
        for layer, p in zip(net.layers, net.split(p_all), strict=True):
            h, _ = layer.forward(p, h)
            if isinstance(layer, WeightNorm):
                pre.append(h)
        out[kind] = pre
    return out


@figure("weightnorm_init")
def weightnorm_init(seed: int = SEED) -> Figure:
    """Histograms of the pre-activations of the three layers, default init against data-dependent init (Sec. 3)."""
    pre = preactivations(seed=seed)
    fig = Figure(figsize=(11.0, 3.4), layout="constrained")
    for k in range(3):
        ax = fig.add_subplot(1, 3, k + 1)
        for i, (kind, arrays) in enumerate(pre.items()):
            a = arrays[k]
            ax.set_xlim(-4.5, 4.5)
            spread = float(np.mean(a.std(axis=0)))
            ax.hist(a.ravel(), bins=60, density=True, histtype="stepfilled", alpha=0.45, color=f"C{i}",
                    label=f"{kind}: mean std per unit {spread:.2f}")
        ax.set(xlabel="pre-activation", ylabel="density" if k == 0 else None)
        ax.set_title(f"layer {k + 1} ({arrays[k].shape[1]} units)")
        ax.legend(loc="upper left", fontsize=7.5)
    return fig
