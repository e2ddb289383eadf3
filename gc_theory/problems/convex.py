r"""Strongly convex losses on a weight of shape (units, M), one independent problem per unit.

These are the optimiser claims' problems (GC-SGD as projected gradient descent):
each carries its gradient, an entrywise bound on that gradient's rounding error,
the bounds :math:`\mu \le \nabla^2 L \le L` and an independent reference for the
minimiser subject to :math:`e^\top(w - w_0) = 0`.

Notes
-----
The rounding bounds follow Higham's :math:`\gamma_n = nu/(1 - nu)` for inner
products of length n (:func:`gc_theory.verify.tolerances.gamma`).

References
----------
.. [1] N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM 2002, Sec. 3.1.
.. [2] S. Boyd and L. Vandenberghe, *Convex Optimization*, CUP 2004, Sec. 10.2.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gc_theory.core.backend import array_namespace, to_numpy
from gc_theory.verify.context import Context
from gc_theory.verify.tolerances import gamma, unit_roundoff

NEWTON_STEPS = 25

__all__ = ["NEWTON_STEPS", "ConvexProblem", "least_squares", "logistic_regression"]


@dataclass
class ConvexProblem:
    """A loss on a weight of shape (units, M) with one independent problem per unit.

    ``grad(W)`` and ``grad_error(W)`` (an entrywise bound on the rounding error
    of ``grad``) act on the whole weight; ``mu`` and ``L`` bound the Hessian of
    each unit's problem.
    """

    grad: Callable[[Any], Any]
    grad_error: Callable[[Any], Any]
    mu: float
    L: float
    reference: Callable[[Any], tuple[Any, Any]]  # w0 -> (w_star, error bound per unit)


def _row_norm(x: Any) -> Any:
    xp = array_namespace(x)
    return xp.sqrt(xp.sum(x * x, axis=1))


def _eigvalsh(A: Any) -> Any:
    xp = array_namespace(A)
    return xp.linalg.eigvalsh(A)


def least_squares(ctx: Context, units: int = 3, M: int = 8, n: int = 64) -> ConvexProblem:
    r""":math:`L(W) = \frac{1}{2n}\|X W^\top - Y\|_F^2`, one least-squares problem per unit (row of W)."""
    xp = ctx.xp
    X = ctx.normal(n, M)
    Y = ctx.asarray(ctx.rng.standard_normal((n, units)) + 1.5)
    A = X.T @ X / n
    eig = _eigvalsh(A)
    mu, L = float(eig[0]), float(eig[-1])
    u = unit_roundoff(ctx.dtype)
    absX, absY = xp.abs(X), xp.abs(Y)

    def grad(W: Any) -> Any:
        return (X @ W.T - Y).T @ X / n

    def grad_error(W: Any) -> Any:
        # residual R: gamma_{M+1}(|X||W|^T + |Y|); then R^T X / n: gamma_{n+1}|R|^T|X|/n plus the propagated error.
        absR = absX @ xp.abs(W).T + absY
        return (gamma(n + 1, ctx.dtype) * absR.T @ absX + gamma(M + 1, ctx.dtype) * absR.T @ absX) / n

    def reference(W0: Any) -> tuple[Any, Any]:
        ones = xp.ones((M, 1), dtype=ctx.dtype)
        K = xp.concat([xp.concat([A, ones], axis=1), xp.concat([ones.T, xp.zeros((1, 1), dtype=ctx.dtype)], axis=1)], axis=0)
        rhs = xp.concat([(Y.T @ X / n).T, xp.sum(W0, axis=1)[None, :]], axis=0)
        z = xp.linalg.solve(K, rhs)
        # A posteriori: ||z - z*|| <= ||K^{-1}|| (||computed residual|| + its rounding bound).
        res = K @ z - rhs
        res_bound = _col_norm(res) + gamma(M + 2, ctx.dtype) * _col_norm(xp.abs(K) @ xp.abs(z) + xp.abs(rhs))
        # The data of K and rhs are themselves rounded (A and X^T Y / n): gamma_{n+1} relative.
        data_err = gamma(n + 1, ctx.dtype) * _col_norm((absX.T @ absX / n) @ xp.abs(z[:M, :]) + absX.T @ absY / n)
        sigma_min = float(xp.min(xp.linalg.svdvals(K)))
        return z[:M, :].T, (res_bound + data_err + u * _col_norm(z)) / sigma_min

    return ConvexProblem(grad, grad_error, mu, L, reference)


def _col_norm(x: Any) -> Any:
    xp = array_namespace(x)
    return xp.sqrt(xp.sum(x * x, axis=0))


def _sigmoid(z: Any) -> Any:
    xp = array_namespace(z)
    return 1.0 / (1.0 + xp.exp(-z))


def logistic_regression(ctx: Context, units: int = 2, M: int = 6, n: int = 100, ridge: float = 0.1) -> ConvexProblem:
    r""":math:`L(w) = \frac1n\sum_k \log(1 + e^{-y_k x_k^\top w}) + \frac{\lambda}{2}\|w\|^2` per unit, labels +-1."""
    xp = ctx.xp
    X = ctx.normal(n, M)
    truth = ctx.rng.standard_normal((M, units)) + 0.7
    p = 1.0 / (1.0 + np.exp(-(to_numpy(X).astype(np.float64) @ truth)))  # labels drawn on the host, seeded
    labels = ctx.asarray(2.0 * (ctx.rng.random((n, units)) < p) - 1.0)
    eig = _eigvalsh(X.T @ X / n)
    mu, L = ridge, float(eig[-1]) / 4.0 + ridge
    absX = xp.abs(X)

    def grad(W: Any) -> Any:
        s = _sigmoid(-labels * (X @ W.T))  # (n, units)
        return -((labels * s).T @ X) / n + ridge * W

    def grad_error(W: Any) -> Any:
        # z = Xw: gamma_M |X||w|; sigma is 1/4-Lipschitz and its evaluation (exp, +, /) costs ~4u (relative to <= 1);
        # then X^T (y s)/n: gamma_{n+1} |X|^T |s| / n plus the propagated error; + ridge*W: gamma_2.
        dz = gamma(M, ctx.dtype) * (absX @ xp.abs(W).T)
        ds = dz / 4.0 + 4 * unit_roundoff(ctx.dtype)
        s = xp.abs(_sigmoid(-labels * (X @ W.T)))
        return (gamma(n + 1, ctx.dtype) * (s.T @ absX) + ds.T @ absX) / n + gamma(2, ctx.dtype) * (ridge * xp.abs(W) + xp.abs(W))

    def reference(W0: Any) -> tuple[Any, Any]:
        rows = []
        ones = xp.ones((M, 1), dtype=ctx.dtype)
        for i in range(units):
            w = W0[i, :]
            for _ in range(NEWTON_STEPS):
                z = X @ w
                s = _sigmoid(-labels[:, i] * z)
                g = -(X.T @ (labels[:, i] * s)) / n + ridge * w
                H = (X.T * (s * (1.0 - s))[None, :]) @ X / n + ridge * xp.eye(M, dtype=ctx.dtype)
                K = xp.concat([xp.concat([H, ones], axis=1), xp.concat([ones.T, xp.zeros((1, 1), dtype=ctx.dtype)], axis=1)], axis=0)
                step = xp.linalg.solve(K, xp.concat([-g, xp.zeros((1,), dtype=ctx.dtype)])[:, None])
                w = w + step[:M, 0]
            rows.append(w)
        Wr = xp.stack(rows)
        # A posteriori: project onto the plane (off by eps_e), then ||w - w*|| <= ||P grad|| / mu on the plane.
        eps_e = xp.abs(xp.sum(Wr - W0, axis=1)) / math.sqrt(M)
        g = grad(Wr)
        Pg = g - xp.mean(g, axis=1)[:, None]
        err = eps_e * (1 + L / mu) + (_row_norm(Pg) + 2 * _row_norm(grad_error(Wr))) / mu
        return Wr, err

    return ConvexProblem(grad, grad_error, mu, L, reference)
