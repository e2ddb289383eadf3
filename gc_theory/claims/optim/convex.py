r"""GC-SGD is projected gradient descent: on a convex loss it finds the constrained minimiser.

Since :math:`P` is the orthogonal projection onto :math:`e^\perp` and GC-SGD
keeps :math:`e^\top(w_t - w_0) = 0`, GC-SGD with step :math:`\eta` is exactly
gradient descent on :math:`L` restricted to the affine plane
:math:`\{w : e^\top(w - w_0) = 0\}`. For a loss that is :math:`\mu`-strongly
convex and :math:`L`-smooth there (least squares, L2-regularised logistic
regression), with :math:`\eta = 2/(\mu + L)`,

.. math::

    \|w_T - w^\star\| \le \rho^T \|w_0 - w^\star\|, \qquad \rho = \frac{L - \mu}{L + \mu},

where :math:`w^\star` minimises :math:`L` subject to :math:`e^\top(w - w_0) = 0`
(the restricted Hessian :math:`P \nabla^2 L P` has its spectrum on
:math:`e^\perp` inside :math:`[\mu, L]`). :math:`w^\star` is computed
independently of any optimiser of this package: by the KKT system for least
squares and by equality-constrained Newton steps on the KKT system for
logistic regression (Boyd & Vandenberghe, *Convex Optimization*, Sec. 10.2).

Tolerance: with :math:`\delta` a bound on the rounding error of one step
(gradient error times :math:`\eta`, GC's rounding, the update's rounding),
errors within the plane contract by :math:`\rho` and those along :math:`e`
accumulate, so

.. math:: \text{tol} = \rho^T d_0 + \frac{\delta}{1-\rho} + T\,\delta_e + \epsilon_{\mathrm{ref}},

with :math:`\delta_e` the part of :math:`\delta` along :math:`e` (the confinement
bound's per-step growth, :mod:`.confinement`), :math:`d_0 = \|w_0 - w^\star\|` and :math:`\epsilon_{\mathrm{ref}}` an a
posteriori bound on the error of the reference :math:`w^\star`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ... import optim
from ...backend import array_namespace, to_numpy
from ...tolerances import gamma, unit_roundoff
from .. import Context, Measurement, claim
from .confinement import GC_SOURCE

#: The statements are about GC (ids gc.*), measured with the optimisers.
AREA = "gc"

STEPS_LS = 80
STEPS_LOGISTIC = 120
NEWTON_STEPS = 25


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


def projected_gd_measurement(problem: ConvexProblem, W0: Any, steps: int, gc: str | None) -> Measurement:
    r"""Distance of GC-SGD's (or plain SGD's) last iterate to the constrained minimiser, per unit.

    Returns the worst unit's :math:`\|w_T - w^\star\|` against the tolerance of
    the module docstring.
    """
    xp = array_namespace(W0)
    dtype = W0.dtype
    u, M = unit_roundoff(dtype), W0.shape[1]
    mu, L = problem.mu, problem.L
    eta = 2.0 / (mu + L)
    rho = (L - mu) / (L + mu)
    opt = optim.SGD(eta, gc=gc)
    traj = optim.record_trajectory(opt, {"w": W0}, lambda p, t: {"w": problem.grad(p["w"])}, steps)
    w_star, ref_err = problem.reference(W0)
    delta = delta_e = xp.zeros((W0.shape[0],), dtype=dtype)
    for p, g in zip(traj.params[1:], traj.grads):
        # One step's error: eta*(gradient error + GC rounding (u + gamma_M)||g||) + the update's rounding u||w||.
        # Its component along e (what GC leaves uncontracted) is only GC's and the update's rounding of the sum.
        absg, absw = xp.abs(g["w"]), xp.abs(p["w"])
        gc_err = (u + gamma(M, dtype)) * _row_norm(g["w"])
        step_err = eta * (_row_norm(problem.grad_error(p["w"])) + gc_err) + u * _row_norm(p["w"])
        along_e = (eta * gamma(M + 4, dtype) * xp.sum(absg, axis=1) + gamma(1, dtype) * xp.sum(absw, axis=1)) / math.sqrt(M)
        delta, delta_e = xp.maximum(delta, step_err), xp.maximum(delta_e, along_e)
    d0 = _row_norm(W0 - w_star) + ref_err
    if gc is None:  # the control is held to the claim's bound: no confinement argument for the e-part
        delta_e = delta
    tol = rho**steps * d0 + delta / (1.0 - rho) + steps * delta_e + ref_err
    dist = _row_norm(traj.params[-1]["w"] - w_star)
    i = int(xp.argmax(dist / tol))
    return Measurement(float(dist[i]), float(tol[i]), float(_row_norm(w_star)[i]),
                       f"unit {i} after {steps} steps, rho={rho:.3f}, |w0 - w*|={float(d0[i]):.2g}")  # fmt: skip


@claim(
    "gc.projected_gd.least_squares",
    statement="GC-SGD on least squares converges to the minimiser subject to e^T(w - w_0) = 0 "
    "(computed from the KKT system), at the projected-gradient rate rho^T, down to rounding",
    source=f"{GC_SOURCE}, Sec. 3.3 (GC as projected gradient descent onto the hyperplane)",
    control="plain SGD converges to the unconstrained minimiser instead, far from the constrained one",
)
def _least_squares(ctx: Context, control: bool) -> Measurement:
    case = ctx.spawn("problem")
    problem = least_squares(case)
    W0 = case.asarray(0.5 * case.rng.standard_normal((3, 8)))
    return projected_gd_measurement(problem, W0, STEPS_LS, None if control else "gradient")


@claim(
    "gc.projected_gd.logistic",
    statement="GC-SGD on L2-regularised logistic regression converges to the minimiser subject to e^T(w - w_0) = 0 "
    "(computed by equality-constrained Newton on the KKT system), at the rate rho^T, down to rounding",
    source=f"{GC_SOURCE}, Sec. 3.3; Boyd & Vandenberghe, Convex Optimization, Sec. 9.3 and 10.2",
    control="plain SGD converges to the unconstrained minimiser instead, far from the constrained one",
)
def _logistic(ctx: Context, control: bool) -> Measurement:
    case = ctx.spawn("problem")
    problem = logistic_regression(case)
    W0 = case.asarray(0.5 * case.rng.standard_normal((2, 6)))
    return projected_gd_measurement(problem, W0, STEPS_LOGISTIC, None if control else "gradient")
