r"""A one-hidden-layer tanh network with softmax cross-entropy, as a problem of its flat parameter vector.

.. math::

    a = XW_1 + b_1,\quad z = \tanh a,\quad o = zW_2 + b_2,\quad
    L(\theta) = \frac1n\sum_k \Bigl(\log\sum_c e^{o_{kc}} - o_{k y_k}\Bigr),

:math:`\theta = (W_1, b_1, W_2, b_2)` flattened in that order. The gradient is
backpropagation written out; the Hessian-vector product is Pearlmutter's
R-operator, :math:`\mathcal R_v\{\cdot\} = \frac{d}{dr}(\cdot)(\theta + rv)|_{r=0}`,
pushed through the same forward and backward passes, so it is exact and costs
about two gradients. Written against the array API (any namespace of theta).

Below the problem, the digits experiment of implicit gradient regularisation:
full-batch gradient descent over a grid of steps (and explicit regularisation
at a small step) trained to the same training loss, then R_IG = ||g||^2, the
top Hessian eigenvalue, test accuracy and the test-loss increase under Gaussian
parameter noise, per seed; its results are committed (``igr_digits.json``) and
drawn by the ``igr_digits`` figure (NumPy, host only).

References
----------
.. [1] B. A. Pearlmutter, "Fast Exact Multiplication by the Hessian", Neural Computation 6(1), 1994.
.. [2] D. G. T. Barrett and B. Dherin, "Implicit Gradient Regularization", ICLR 2021, Sec. 5-6.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write_text
from .._progress import progress
from .._validation import check_int, check_nonnegative, check_positive, check_seed
from ..backend import array_namespace
from ..curvature import top_eigenvalue
from ..igr import explicit_regularization

__all__ = ["DIGITS_EGR", "DIGITS_RESULTS", "DIGITS_STEPS", "TanhMLP", "digits_igr_experiment", "digits_run",
           "digits_summary", "load_digits_results", "top_hessian_eigenvalue", "write_digits_results"]


class TanhMLP:
    r"""Softmax cross-entropy of a tanh MLP on fixed data; ``value``, ``grad``, ``hvp`` of the flat theta.

    Parameters
    ----------
    x : array, shape (n, d)
        Inputs; their namespace and dtype are the problem's.
    y : array of int, shape (n,)
        Labels in ``range(n_classes)``.
    hidden : int
        Width of the hidden layer.
    n_classes : int
        Number of classes.

    Notes
    -----
    With :math:`\delta_o = (\mathrm{softmax}(o) - Y)/n` (Y one-hot) and
    :math:`\delta_a = \delta_oW_2^\top \odot (1 - z^2)`:
    :math:`\nabla_{W_2} = z^\top\delta_o`, :math:`\nabla_{W_1} = X^\top\delta_a`, the
    biases the column sums. The R-operator along :math:`v = (V_1, c_1, V_2, c_2)`:

    .. math::

        \mathcal R a = XV_1 + c_1,\quad \mathcal R z = (1 - z^2)\odot\mathcal R a,\quad
        \mathcal R o = \mathcal R z\,W_2 + zV_2 + c_2,\\
        \mathcal R\delta_o = p\odot(\mathcal R o - \langle p, \mathcal R o\rangle)/n,\quad
        \mathcal R\delta_a = (\mathcal R\delta_o W_2^\top + \delta_o V_2^\top)\odot(1 - z^2)
            - 2\,\delta_oW_2^\top\odot z\odot\mathcal R z,

    and :math:`Hv = (X^\top\mathcal R\delta_a,\ \textstyle\sum\mathcal R\delta_a,\
    \mathcal R z^\top\delta_o + z^\top\mathcal R\delta_o,\ \sum\mathcal R\delta_o)`.
    """

    def __init__(self, x: Any, y: Any, hidden: int = 16, n_classes: int = 10) -> None:
        xp = array_namespace(x)
        if x.ndim != 2:
            raise ValueError(f"x must be 2-d (n, d), got shape {tuple(x.shape)}")
        self.hidden = check_int(hidden, "hidden", minimum=1)
        self.n_classes = check_int(n_classes, "n_classes", minimum=2)
        labels = np.asarray(y)
        if labels.shape != (x.shape[0],) or labels.min() < 0 or labels.max() >= self.n_classes:
            raise ValueError(f"y must hold {x.shape[0]} labels in range({self.n_classes}), got shape {labels.shape}")
        self.x, self.xp = x, xp
        self.onehot = xp.asarray(np.eye(self.n_classes)[labels], dtype=x.dtype)
        d, k, c = x.shape[1], self.hidden, self.n_classes
        self.shapes = ((d, k), (k,), (k, c), (c,))
        self.dim = d * k + k + k * c + c

    def init(self, seed: int = 0) -> Any:
        """A flat theta: weights Gaussian with variance 1/fan-in (LeCun), biases zero."""
        rng = np.random.default_rng(check_seed(seed))
        (d, k), _, (_, c), _ = self.shapes
        parts = (rng.standard_normal(d * k) / np.sqrt(d), np.zeros(k), rng.standard_normal(k * c) / np.sqrt(k),
                 np.zeros(c))
        return self.xp.asarray(np.concatenate(parts), dtype=self.x.dtype)

    def unflatten(self, theta: Any) -> tuple[Any, Any, Any, Any]:
        """(W1, b1, W2, b2) as views of theta."""
        xp = self.xp
        if theta.shape != (self.dim,):
            raise ValueError(f"theta must have shape ({self.dim},), got {tuple(theta.shape)}")
        out, start = [], 0
        for shape in self.shapes:
            size = int(np.prod(shape))
            out.append(xp.reshape(theta[start:start + size], shape))
            start += size
        return tuple(out)

    def _flatten(self, parts: tuple[Any, ...]) -> Any:
        return self.xp.concat([self.xp.reshape(p, (-1,)) for p in parts])

    def _forward(self, theta: Any, x: Any) -> tuple[Any, Any, Any]:
        xp = self.xp
        w1, b1, w2, b2 = self.unflatten(theta)
        z = xp.tanh(x @ w1 + b1)
        o = z @ w2 + b2
        shifted = o - xp.max(o, axis=1, keepdims=True)
        e = xp.exp(shifted)
        p = e / xp.sum(e, axis=1, keepdims=True)
        return z, shifted, p

    def logits(self, theta: Any, x: Any) -> Any:
        """The network's outputs o on inputs x (any rows)."""
        w1, b1, w2, b2 = self.unflatten(theta)
        return self.xp.tanh(x @ w1 + b1) @ w2 + b2

    def loss_on(self, theta: Any, x: Any, onehot: Any) -> float:
        """Mean cross-entropy on other data (a test set), one-hot labels."""
        xp = self.xp
        o = self.logits(theta, x)
        m = xp.max(o, axis=1, keepdims=True)
        lse = xp.log(xp.sum(xp.exp(o - m), axis=1)) + m[:, 0]
        return float(xp.mean(lse - xp.sum(o * onehot, axis=1)))

    def value(self, theta: Any) -> float:
        return self.loss_on(theta, self.x, self.onehot)

    def grad(self, theta: Any) -> Any:
        _, _, w2, _ = self.unflatten(theta)
        z, _, p = self._forward(theta, self.x)
        d_o = (p - self.onehot) / self.x.shape[0]
        d_a = (d_o @ w2.T) * (1.0 - z * z)
        xp = self.xp
        return self._flatten((self.x.T @ d_a, xp.sum(d_a, axis=0), z.T @ d_o, xp.sum(d_o, axis=0)))

    def hvp(self, theta: Any, v: Any) -> Any:
        xp = self.xp
        _, _, w2, _ = self.unflatten(theta)
        v1, c1, v2, c2 = self.unflatten(v)
        z, _, p = self._forward(theta, self.x)
        n = self.x.shape[0]
        d_o = (p - self.onehot) / n
        slope = 1.0 - z * z
        r_z = slope * (self.x @ v1 + c1)
        r_o = r_z @ w2 + z @ v2 + c2
        r_do = p * (r_o - xp.sum(p * r_o, axis=1, keepdims=True)) / n
        back = d_o @ w2.T
        r_da = (r_do @ w2.T + d_o @ v2.T) * slope - 2.0 * back * z * r_z
        return self._flatten((self.x.T @ r_da, xp.sum(r_da, axis=0), r_z.T @ d_o + z.T @ r_do, xp.sum(r_do, axis=0)))

    def accuracy(self, theta: Any, x: Any, labels: Any) -> float:
        """Fraction of rows of x whose largest output is the label."""
        xp = self.xp
        return float(xp.mean(xp.astype(xp.argmax(self.logits(theta, x), axis=1) == labels, xp.float64)))


#: Steps of full-batch GD; 2/S_0 is about 1.7 at the initialisations used, so 2.5 starts above the catapult threshold.
DIGITS_STEPS = (0.1, 0.25, 0.5, 1.0, 1.5, 2.5)
#: Explicit regularisation: GD at step 0.25 on L + (3 * 1.0/16)||g||^2, standing in for GD at step 1.0.
DIGITS_EGR = (0.25, 1.0)
#: Where the committed results live (package data, read by the igr_digits figure).
DIGITS_RESULTS = Path(__file__).with_name("igr_digits.json")


def top_hessian_eigenvalue(problem: Any, theta: Any, *, seed: int = 0, tol: float = 1e-6,
                           maxiter: int = 3000) -> float:
    r"""The largest (algebraic) Hessian eigenvalue by power iteration on Hessian-vector products.

    Power iteration finds the eigenvalue of largest magnitude; when that one is
    negative, a second run on :math:`H - \lambda_- I` (whose spectrum is
    shifted to :math:`[0, \lambda_{\max} - \lambda_-]`) finds :math:`\lambda_{\max} - \lambda_-`.
    """
    v0 = np.random.default_rng(check_seed(seed)).standard_normal(theta.shape[0])
    first = top_eigenvalue(lambda v: problem.hvp(theta, v), v0, tol=tol, maxiter=maxiter)
    if first.eigenvalue >= 0.0:
        return float(first.eigenvalue)
    shift = first.eigenvalue
    shifted = top_eigenvalue(lambda v: problem.hvp(theta, v) - shift * v, v0, tol=tol, maxiter=maxiter)
    return float(shifted.eigenvalue + shift)


def digits_run(model: TanhMLP, data: Any, h: float, *, mu: float = 0.0, seed: int = 0, target_loss: float = 0.05,
               max_steps: int = 20_000, noise: float = 0.05, noise_draws: int = 20) -> dict[str, float]:
    r"""Full-batch GD with step h on :math:`L + \mu\|\nabla L\|^2` from ``model.init(seed)`` until
    the training loss L is at most `target_loss`; what it ends with, as plain floats.

    The noise draws are seeded by `seed` alone, so runs of one seed share them
    and their differences are paired.
    """
    h = check_positive(h, "h")
    mu = check_nonnegative(mu, "mu")
    target = check_positive(target_loss, "target_loss")
    budget = check_int(max_steps, "max_steps", minimum=1)
    objective = explicit_regularization(model, mu) if mu > 0 else model
    theta = model.init(seed)
    steps = 0
    while model.value(theta) > target and steps < budget:
        theta = theta - h * objective.grad(theta)
        steps += 1
    g = model.grad(theta)
    loss = model.value(theta)
    onehot = np.eye(model.n_classes)[np.asarray(data.y_test)]
    test_loss = model.loss_on(theta, data.x_test, onehot)
    rng = np.random.default_rng(seed + 10_000)
    noisy = [model.loss_on(theta + noise * rng.standard_normal(model.dim), data.x_test, onehot)
             for _ in range(noise_draws)]
    return {"h": float(h), "mu": float(mu), "seed": int(seed), "steps": int(steps), "reached": bool(loss <= target),
            "train_loss": float(loss), "r_ig": float(g @ g), "r_ig_over_loss": float(g @ g) / float(loss),
            "sharpness": top_hessian_eigenvalue(model, theta, seed=seed),
            "sharpness_at_init": top_hessian_eigenvalue(model, model.init(seed), seed=seed),
            "test_loss": float(test_loss), "test_accuracy": model.accuracy(theta, data.x_test, data.y_test),
            "noise_increase": float(np.mean(noisy) - test_loss)}


def digits_igr_experiment(seeds: Iterable[int] = range(5), steps: Sequence[float] = DIGITS_STEPS,
                          egr: tuple[float, float] | None = DIGITS_EGR, *, hidden: int = 16,
                          target_loss: float = 0.05, noise: float = 0.05,
                          show_progress: bool | None = None) -> dict[str, Any]:
    r"""GD over `steps` and EGR at ``egr = (h, h_replaced)`` (mu = 3 h_replaced/16) on the digits, per seed.

    Returns a JSON-ready dict: the settings and one row per run (:func:`digits_run`).

    Notes
    -----
    Every run trains to the same training loss, so differences in R_IG, sharpness
    and robustness are not differences in how far training went. Barrett and
    Dherin predict that a larger h ends with a smaller R_IG (and R_IG/L), at a
    flatter minimum, with better test accuracy and robustness, and that EGR at a
    small step reproduces the large step; the results say whether it does here.
    """
    from ..data import load_digits

    data = load_digits()
    model = TanhMLP(data.x_train, data.y_train, hidden=hidden)
    seeds = [check_seed(s) for s in seeds]
    jobs = [(h, 0.0, s) for s in seeds for h in steps]
    if egr is not None:
        jobs += [(egr[0], 3.0 * egr[1] / 16.0, s) for s in seeds]
    rows = [digits_run(model, data, h, mu=mu, seed=s, target_loss=target_loss, noise=noise)
            for h, mu, s in progress(jobs, "digits GD runs", enabled=show_progress)]
    return {"hidden": hidden, "target_loss": target_loss, "noise": noise, "seeds": seeds,
            "steps": [float(h) for h in steps], "egr": None if egr is None else [float(e) for e in egr], "runs": rows}


def write_digits_results(path: str | Path = DIGITS_RESULTS, **kwargs: Any) -> Path:
    """Run :func:`digits_igr_experiment` and write its results atomically as JSON."""
    results = digits_igr_experiment(**kwargs)
    return atomic_write_text(path, json.dumps(results, indent=1, sort_keys=True) + "\n")


def load_digits_results(path: str | Path = DIGITS_RESULTS) -> dict[str, Any]:
    """The committed results (written by :func:`write_digits_results`)."""
    return json.loads(Path(path).read_text())


def digits_summary(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per configuration: mean and standard deviation over seeds of each measured quantity.

    ``<key>_delta`` (and ``_delta_std``) is the paired change against GD at the
    smallest step of the same seed: the seeds share their data, initialisation
    and noise draws, so the paired change shows a trend that the spread between
    seeds would hide.
    """
    keys = ("steps", "train_loss", "r_ig", "r_ig_over_loss", "sharpness", "test_accuracy", "noise_increase")
    smallest = min(run["h"] for run in results["runs"] if run["mu"] == 0.0)
    base = {run["seed"]: run for run in results["runs"] if run["mu"] == 0.0 and run["h"] == smallest}
    groups: dict[tuple[float, float], list[dict[str, Any]]] = {}
    for run in results["runs"]:
        groups.setdefault((run["h"], run["mu"]), []).append(run)
    rows = []
    for (h, mu), runs in groups.items():
        row: dict[str, Any] = {"h": h, "mu": mu, "label": f"EGR, h = {h:g}, mu = {mu:g}" if mu else f"GD, h = {h:g}",
                               "seeds": len(runs), "reached": all(r["reached"] for r in runs)}
        for k in keys:
            values = np.array([r[k] for r in runs], dtype=np.float64)
            deltas = values - np.array([base[r["seed"]][k] for r in runs], dtype=np.float64)
            for name, v in ((k, values), (f"{k}_delta", deltas)):
                row[name] = float(v.mean())
                row[f"{name}_std"] = float(v.std(ddof=1)) if v.size > 1 else 0.0
        rows.append(row)
    return rows


if __name__ == "__main__":  # pragma: no cover
    import time

    start = time.perf_counter()
    print(write_digits_results(show_progress=None), f"written in {time.perf_counter() - start:.1f} s")
