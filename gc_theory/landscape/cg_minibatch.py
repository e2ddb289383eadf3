r"""Conjugate gradient driven by mini-batch gradients: why CG does not go stochastic.

CG's theorems rest on two things a stochastic setting takes away: exact
gradients and a step that minimises along the direction. Here the step is
CG's exact quadratic step :math:`\alpha_k = -\hat g_k^\top d_k / d_k^\top H d_k`
but :math:`\hat g_k` is a mini-batch gradient drawn without replacement, so

.. math::

    d_{k+1} = -\hat g_{k+1} + \beta_k d_k

no longer satisfies :math:`d_k^\top H d_{k+1} = 0`: the noise in
:math:`\hat g_{k+1}` is not H-orthogonal to :math:`d_k`. :func:`minibatch_cg`
records the consecutive H-cosines
:math:`|d_k^\top H d_{k+1}| / (\lVert d_k\rVert_H \lVert d_{k+1}\rVert_H)`, which are
zero to rounding with full-batch gradients (host NumPy, a least-squares problem).

:func:`minibatch_run` and :func:`cg_against_sgd` put CG and SGD side by side on
any loss of a linear predictor (:mod:`gc_theory.problems.glm`, array API) with
the same budget of per-example evaluations: CG, taking its step from the
batch's curvature, follows the batch's noise and its directions stop being
conjugate; SGD with a fixed step averages the noise out.

References
----------
.. [1] J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed., 2006, Ch. 5.
.. [2] L. Bottou, F. E. Curtis and J. Nocedal, "Optimization methods for
   large-scale machine learning", SIAM Review 60 (2018) 223-311, Sec. 6.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from gc_theory.core.validation import check_choice, check_finite_floating, check_int, check_positive
from gc_theory.core.backend import array_namespace
from .cg import BETAS, beta_value
from .minibatch import draw_batch

__all__ = ["Comparison", "MinibatchRun", "NoisyCG", "cg_against_sgd", "comparison_table", "minibatch_cg", "minibatch_run"]


class NoisyCG(NamedTuple):
    """Consecutive H-cosines of the directions and the full-batch loss after each step (plain floats)."""

    cosines: list[float]
    losses: list[float]


def minibatch_cg(x: np.ndarray, y: np.ndarray, w0: np.ndarray, batch_size: int, steps: int,
                 rng: np.random.Generator, *, beta: str = "PR") -> NoisyCG:
    r"""CG on :math:`\tfrac{1}{2N}\lVert Xw - y\rVert^2` with mini-batch gradients and the exact quadratic step.

    Parameters
    ----------
    x, y : ndarray
        Inputs (N, P) and targets (N,).
    w0 : ndarray
        Start (P,).
    batch_size : int
        B in 1..N; B = N gives the full-batch gradient, and CG's theory.
    steps : int
        Number of CG steps.
    rng : numpy.random.Generator
        Draws the batches.
    beta : str
        One of :data:`gc_theory.landscape.cg.BETAS`.
    """
    check_finite_floating(x, "x")
    check_finite_floating(y, "y")
    check_finite_floating(w0, "w0")
    n = x.shape[0]
    batch_size = check_int(batch_size, "batch_size", minimum=1, maximum=n)
    steps = check_int(steps, "steps", minimum=1)
    check_choice(beta, "beta", BETAS)
    hessian = x.T @ x / n

    def gradient(w: np.ndarray) -> np.ndarray:
        rows = draw_batch(n, batch_size, rng) if batch_size < n else np.arange(n)
        return x[rows].T @ (x[rows] @ w - y[rows]) / rows.size

    def loss(w: np.ndarray) -> float:
        r = x @ w - y
        return float(r @ r / (2 * n))

    w, g = w0.astype(np.float64), gradient(w0)
    d = -g
    cosines, losses = [], [loss(w)]
    for _ in range(steps):
        hd = hessian @ d
        w = w - float(g @ d) / float(d @ hd) * d
        g_new = gradient(w)
        d_new = -g_new + beta_value(beta, g_new, g, d) * d
        cosines.append(abs(float(d @ hessian @ d_new)) / float(np.sqrt(float(d @ hd) * float(d_new @ hessian @ d_new))))
        losses.append(loss(w))
        g, d = g_new, d_new
    return NoisyCG(cosines, losses)


class MinibatchRun(NamedTuple):
    """One run of :func:`minibatch_run` (plain Python types).

    ``losses[i]`` is the full loss after ``evaluations[i]`` per-example
    evaluations (index 0 the start); ``cosines`` are CG's consecutive
    H-cosines (empty for SGD).
    """

    losses: list[float]
    evaluations: list[int]
    cosines: list[float]


def minibatch_run(problem: Any, w0: Any, batch_size: int, budget: int, rng: np.random.Generator, *, method: str = "sgd",
                  lr: float | None = None, beta: str = "PR+", records: int = 20) -> MinibatchRun:
    r"""SGD with a fixed step, or CG with mini-batch gradients and the batch's quadratic step, on a fixed budget.

    Parameters
    ----------
    problem : LinearModelLoss-like
        ``value(w)``, ``hvp(w, v)``, ``subset(rows)`` (the same loss on the
        examples `rows`) and ``X`` (its rows are the examples), e.g.
        :func:`gc_theory.problems.logistic_loss`.
    w0 : array
        Start, in the problem's namespace.
    batch_size : int
        B in 1..N, drawn without replacement each step; B = N is the full gradient.
    budget : int
        Per-example evaluations allowed: SGD spends B per step (a gradient),
        CG 2B (a gradient and a Hessian-vector product on the batch, for its step).
    rng : numpy.random.Generator
        Draws the batches.
    method : {"sgd", "cg"}
    lr : float
        SGD's step (required for SGD, unused by CG).
    beta : str
        CG's formula, one of :data:`gc_theory.landscape.cg.BETAS`.
    records : int
        About how many times the full loss is recorded along the run.

    Notes
    -----
    SGD: :math:`w \leftarrow w - \eta\,\hat g`. CG:
    :math:`d_k = -\hat g_k + \beta_k d_{k-1}` and
    :math:`w \leftarrow w + \alpha_k d_k` with
    :math:`\alpha_k = -\hat g_k^\top d_k / d_k^\top \hat H_k d_k`, the exact
    minimiser along :math:`d_k` of the batch loss's quadratic model: CG's own
    line search, made on the batch it sees. ``cosines`` holds
    :math:`|d_{k-1}^\top H d_k| / (\lVert d_{k-1}\rVert_H \lVert d_k\rVert_H)` with H
    the full Hessian at the current point (not counted in the budget); with
    B = N on a quadratic it is 0 up to rounding, on a logistic loss small.
    A CG run whose loss stops being finite ends there.
    """
    check_choice(method, "method", ("sgd", "cg"))
    check_choice(beta, "beta", BETAS)
    n = problem.X.shape[0]
    batch_size = check_int(batch_size, "batch_size", minimum=1, maximum=n)
    budget = check_int(budget, "budget", minimum=batch_size)
    records = check_int(records, "records", minimum=1)
    if method == "sgd":
        if lr is None:
            raise ValueError("lr must be given for method='sgd', got None")
        lr = check_positive(lr, "lr")
    xp = array_namespace(w0)
    cost = batch_size if method == "sgd" else 2 * batch_size
    every = max(budget // cost // records, 1)
    w, d, g_old = w0, None, None
    losses, evaluations, cosines = [float(problem.value(w0))], [0], []
    used, step = 0, 0
    while used + cost <= budget:
        rows = xp.asarray(draw_batch(n, batch_size, rng) if batch_size < n else np.arange(n))
        batch = problem.subset(rows)
        g = batch.grad(w)
        if method == "sgd":
            w = w - lr * g
        else:
            d_new = -g if d is None else -g + beta_value(beta, g, g_old, d) * d
            if d is not None:
                hd, hn = problem.hvp(w, d), problem.hvp(w, d_new)
                cosines.append(abs(float(xp.vecdot(d, hn))) / math.sqrt(float(xp.vecdot(d, hd)) * float(xp.vecdot(d_new, hn))))
            d, g_old = d_new, g
            w = w - float(xp.vecdot(g, d)) / float(xp.vecdot(d, batch.hvp(w, d))) * d
        used, step = used + cost, step + 1
        if step % every == 0 or used + cost > budget:
            losses.append(float(problem.value(w)))
            evaluations.append(used)
            if not math.isfinite(losses[-1]):
                break
    return MinibatchRun(losses, evaluations, cosines)


class Comparison(NamedTuple):
    """Final full loss (mean, min, max over seeds) and mean consecutive H-cosine of one method at one batch size."""

    method: str
    batch_size: int
    loss_mean: float
    loss_min: float
    loss_max: float
    cosine_mean: float


def cg_against_sgd(problem: Any, w0: Any, batch_sizes: Sequence[int], seeds: Sequence[int], epochs: int, lr: float,
                   *, beta: str = "PR+") -> list[Comparison]:
    """:func:`minibatch_run` for SGD and CG at each batch size and seed, with the same budget of ``epochs * N`` evaluations.

    Returns one :class:`Comparison` per method and batch size (``cosine_mean``
    is NaN for SGD); :func:`comparison_table` prints them.
    """
    seeds = [check_int(s, "seeds", minimum=0) for s in seeds]
    if not seeds:
        raise ValueError("seeds must name at least one seed, got []")
    epochs = check_int(epochs, "epochs", minimum=1)
    budget = epochs * problem.X.shape[0]
    out = []
    for b in batch_sizes:
        for method in ("sgd", "cg"):
            runs = [minibatch_run(problem, w0, b, budget, np.random.default_rng([s, b]), method=method, lr=lr, beta=beta)
                    for s in seeds]  # fmt: skip
            final = [r.losses[-1] for r in runs]
            cos = [c for r in runs for c in r.cosines]
            out.append(Comparison(method, int(b), float(np.mean(final)), float(np.min(final)), float(np.max(final)),
                                  float(np.mean(cos)) if cos else math.nan))  # fmt: skip
    return out


def comparison_table(rows: Sequence[Comparison], optimum: float | None = None) -> str:
    """A plain-text table of :func:`cg_against_sgd`'s rows, with the gap to `optimum` when given."""
    head = f"{'method':6}  {'B':>5}  {'final loss (mean)':>17}  {'min .. max over seeds':>23}  {'H-cosine':>8}"
    lines = [head + ("  gap to optimum" if optimum is not None else ""), "-" * (len(head) + (16 if optimum is not None else 0))]
    for r in rows:
        cos = "" if math.isnan(r.cosine_mean) else f"{r.cosine_mean:.3f}"
        line = (f"{r.method.upper():6}  {r.batch_size:5d}  {r.loss_mean:17.5g}  "
                f"{r.loss_min:10.5g} .. {r.loss_max:<10.5g}  {cos:>8}")
        lines.append(line + (f"  {r.loss_mean - optimum:.2e}" if optimum is not None else ""))
    return "\n".join(lines)
