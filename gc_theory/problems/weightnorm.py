r"""The data behind the Weight Normalization pictures: a 2-D quadratic in v-space, norm growth, initialisation.

* :func:`plane_problem`, :func:`plane_loss`, :func:`best_direction`, :func:`plane_path`:
  :math:`L(g\,v/\|v\|)` for a 2-D quadratic, whose level sets in v-space are rays,
  and the path of plain SGD on v, whose steps are orthogonal to v so that it
  spirals outward (claims ``wn.grad_v.orthogonal``, ``wn.norm_growth``);
* :func:`norm_growth_run`: :math:`\|v_t\|` and the effective step
  :math:`g_t^2/\|v_t\|^2` of mini-batch SGD on a least-squares layer, at the
  rates of :data:`LEARNING_RATES` (claim ``wn.effective_lr``);
* :func:`init_network`, :func:`preactivations`: pre-activations of a
  weight-normalised network before and after data-dependent initialisation
  (claim ``wn.init.moments``).

NumPy only: these are fixed, seeded pictures, not numerics to run on other backends.

References
----------
.. [1] T. Salimans, D. P. Kingma, "Weight Normalization", NeurIPS 2016,
   arXiv:1602.07868, Sec. 2.1 (gradients, norm growth) and Sec. 3 (initialisation).
"""

from __future__ import annotations

import numpy as np

from gc_theory import optim
from gc_theory.models import Linear, ReLU, Sequential, WeightNorm
from gc_theory.models.normalization import data_dependent_init_network
from gc_theory.weightnorm import weight_norm, weight_norm_backward

__all__ = [
    "LEARNING_RATES",
    "SEED",
    "best_direction",
    "init_network",
    "norm_growth_run",
    "plane_loss",
    "plane_path",
    "plane_problem",
    "preactivations",
]

SEED = 5
#: The learning rates of the norm-growth runs (two decades).
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
    from gc_theory.datasets import load_digits  # the digits load scikit-learn: only when asked for

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
