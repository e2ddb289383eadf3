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
bound's per-step growth, :mod:`gc_theory.optim.confinement`), :math:`d_0 = \|w_0 - w^\star\|` and :math:`\epsilon_{\mathrm{ref}}` an a
posteriori bound on the error of the reference :math:`w^\star`.

The problem is any object with ``mu`` and ``L`` (the curvature bounds on the
plane), ``grad(W)``, ``grad_error(W)`` (an entrywise bound on the rounding of
that gradient) and ``reference(W0) -> (w_star, error bound)``: the problems of
:mod:`gc_theory.problems.convex` are such objects.
"""

from __future__ import annotations

import math
from typing import Any

from gc_theory.core.backend import array_namespace
from gc_theory.verify.measurement import Measurement
from gc_theory.verify.tolerances import gamma, unit_roundoff

from .sgd import SGD
from .trajectory import record_trajectory

__all__ = ["projected_gd_measurement"]


def _row_norm(x: Any) -> Any:
    xp = array_namespace(x)
    return xp.sqrt(xp.sum(x * x, axis=1))


def projected_gd_measurement(problem: Any, W0: Any, steps: int, gc: str | None) -> Measurement:
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
    opt = SGD(eta, gc=gc)
    traj = record_trajectory(opt, {"w": W0}, lambda p, t: {"w": problem.grad(p["w"])}, steps)
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
