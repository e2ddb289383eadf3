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
zero to rounding with full-batch gradients.

Host NumPy (float64): the loss is a least-squares problem with per-example
gradients :math:`x_i(x_i^\top w - y_i)` and Hessian :math:`X^\top X/N`.

References
----------
.. [1] J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed., 2006, Ch. 5.
.. [2] L. Bottou, F. E. Curtis and J. Nocedal, "Optimization methods for
   large-scale machine learning", SIAM Review 60 (2018) 223-311, Sec. 6.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validation import check_choice, check_finite_floating, check_int
from .cg import BETAS, beta_value
from .minibatch import draw_batch

__all__ = ["NoisyCG", "minibatch_cg"]


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
        One of :data:`gc_theory.cg.BETAS`.
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
