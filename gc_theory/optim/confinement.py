r"""Hyperplane confinement of GC-trained weights: the drift :math:`e^\top(w_t - w_0)` against a running rounding bound.

GC keeps every weight vector on the hyperplane through its start orthogonal
to e, exactly in real arithmetic; :func:`confinement_measurement` runs an
optimiser and holds the measured drift of each weight vector to the bound
below, accumulated step by step from the run itself, so that "on the plane up
to rounding" is a check that a drifting optimiser fails.

Rounding bound for hyperplane confinement
-----------------------------------------
Write :math:`\sigma(x) = \mathbf 1^\top x` for the coordinate sum of one weight
vector of length M (so :math:`e^\top x = \sigma(x)/\sqrt M`) and let
:math:`\|\cdot\|_1` be taken per weight vector. Every floating-point operation
has relative error at most u (Higham's model; :mod:`gc_theory.verify.tolerances`). Then:

* GC: :math:`\hat x = \mathrm{fl}(P y)` has :math:`|\sigma(\hat x)| \le c_P \|y\|_1`,
  :math:`c_P = \gamma_{M+4}` (the sum and the scaling by 1/M cost
  :math:`\gamma_{M+1}`, the subtraction at most 3u more), and
  :math:`\|\hat x\|_1 \le 2(1 + c_P)\|y\|_1`;
* a linear combination :math:`\mathrm{fl}(a x + b z)` adds at most
  :math:`\gamma_2(|a|\|x\|_1 + |b|\|z\|_1)` to :math:`\sigma` (:math:`\gamma_3`
  for three terms);
* the step :math:`\hat w_t = \mathrm{fl}(\hat w_{t-1} - \hat u_t)` adds at most
  :math:`\gamma_1 \|\hat w_t\|_1`.

For the SGD family every form reads :math:`b_t = a\, b_{t-1} + c\, \hat g_t`,
:math:`u_t = d\, \hat g_t + f\, b_t` (:func:`sgd_coefficients`), so with
:math:`G_t = \|y_t\|_1` the raw (decayed) gradient and :math:`B_t = \|\hat b_t\|_1`
the drift of the buffer's sum and of the weights' sum obey

.. math::

    e_t &\le a\, e_{t-1} + |c|\, c_P G_t + \gamma_2 (a B_{t-1} + 2|c|(1+c_P) G_t),\\
    r_t &\le r_{t-1} + |d|\, c_P G_t + |f|\, e_t + \gamma_3 (2|d|(1+c_P) G_t + |f| B_t) + \gamma_1 \|\hat w_t\|_1,

and :math:`|e^\top(\hat w_t - \hat w_0)| \le (r_t + \gamma_{M+1}\|\hat w_t - \hat w_0\|_1)/\sqrt M`,
the last term for measuring it. The bound grows linearly in t, by about
:math:`u\|w\|_1/\sqrt M` per step. With ``gc="update"`` the applied step is
:math:`\mathrm{fl}(P y_t)` for the raw update :math:`y_t`, so
:math:`r_t \le r_{t-1} + c_P \|y_t\|_1 + \gamma_1 \|\hat w_t\|_1`; :math:`\|y_t\|_1`
is recovered from the same step taken without GC (:func:`confinement_measurement`).

Source: H. Yong et al., "Gradient Centralization", ECCV 2020 [arXiv:2004.01461],
Sec. 3.3 (hyperplane confinement, Eq. 6-7) and the reference code's GC/GC2
placements.
"""

from __future__ import annotations

import math
from typing import Any

from gc_theory.core.backend import array_namespace
from gc_theory.verify.measurement import Measurement
from gc_theory.verify.tolerances import gamma, unit_roundoff

from ._base import Optimizer
from .sgd import SGD
from .trajectory import GradFn, record_trajectory

__all__ = ["confinement_measurement", "sgd_coefficients"]

#: Steps of a confinement run unless the caller says otherwise.
STEPS = 30


def _rows(x: Any) -> Any:
    xp = array_namespace(x)
    return xp.reshape(x, (x.shape[0], -1))


def _row_l1(x: Any) -> Any:
    xp = array_namespace(x)
    return xp.sum(xp.abs(_rows(x)), axis=1)


def sgd_coefficients(opt: SGD, lr: float) -> tuple[float, float, float, float]:
    r"""(a, c, d, f) with :math:`b_t = a b_{t-1} + c \hat g_t` and :math:`u_t = d \hat g_t + f b_t` for this form."""
    mu = opt.momentum
    if mu == 0:
        return 0.0, 0.0, lr, 0.0
    torch_nesterov = opt.nesterov and opt.nesterov_form == "torch"
    if opt.momentum_form == "velocity":
        return mu, lr, (lr if torch_nesterov else 0.0), (mu if torch_nesterov else 1.0)
    if opt.momentum_form == "ewma":
        return mu, 1.0 - mu, 0.0, lr
    return mu, 1.0 - opt.dampening, (lr if torch_nesterov else 0.0), (lr * mu if torch_nesterov else lr)


def confinement_measurement(opt: Optimizer, params: dict[str, Any], grad_fn: GradFn, steps: int = STEPS,
                            bound: str = "sgd") -> Measurement:  # fmt: skip
    r"""Worst :math:`|e^\top(w_t - w_0)|` over steps and weight vectors, against the running bound.

    Parameters
    ----------
    opt : Optimizer
        The optimiser run (with or without GC).
    params, grad_fn, steps
        Start, gradient oracle ``grad_fn(point, t)`` and number of steps.
    bound : {"sgd", "update"}
        Which rounding bound of the module docstring is accumulated: the SGD
        family's recursion (GC on the gradient) or the GC-on-the-update one.
        A control is measured against the bound of the claim it controls.
    """
    traj = record_trajectory(opt, params, grad_fn, steps)
    dtype = next(iter(params.values())).dtype
    u, g1, g2, g3 = unit_roundoff(dtype), gamma(1, dtype), gamma(2, dtype), gamma(3, dtype)
    raw = opt.replace(gc=None)
    worst = []
    for name, w0 in params.items():
        if not opt.centralizes(tuple(w0.shape)) and opt.gc is not None:
            continue
        if w0.ndim < 2:
            continue
        xp = array_namespace(w0)
        M = math.prod(w0.shape[1:])
        cP = gamma(M + 4, dtype)
        e = r = xp.zeros((w0.shape[0],), dtype=dtype)
        B_prev = e
        for t in range(traj.steps):
            w_prev, w_t, g = traj.params[t][name], traj.params[t + 1][name], traj.grads[t][name]
            if bound == "update":
                shadow, _ = raw.step(traj.params[t], traj.grads[t], traj.states[t])
                y_l1 = (_row_l1(w_prev - shadow[name]) + u * _row_l1(shadow[name])) / (1 - u)
                r = r + cP * y_l1 + g1 * _row_l1(w_t)
            else:
                a, c, d, f = (abs(v) for v in sgd_coefficients(opt, opt.lr_at(t)))
                y = g + opt.weight_decay * w_prev if (opt.coupled_decay and opt.weight_decay) else g
                G = _row_l1(y)
                buffer = traj.states[t + 1].momentum_buffer
                B = _row_l1(buffer[name]) if name in buffer else 0.0 * G
                e = a * e + c * cP * G + g2 * (a * B_prev + 2 * c * (1 + cP) * G)
                r = r + d * cP * G + f * e + g3 * (2 * d * (1 + cP) * G + f * B) + g1 * _row_l1(w_t)
                B_prev = B
            drift = w_t - w0
            residual = xp.abs(xp.sum(_rows(drift), axis=1)) / math.sqrt(M)
            tol = (r + gamma(M + 1, dtype) * _row_l1(drift)) / math.sqrt(M)
            ratio = residual / tol
            i = int(xp.argmax(ratio))
            worst.append(Measurement(float(residual[i]), float(tol[i]), float(_row_l1(w_t)[i]) / math.sqrt(M),
                                     f"{opt.name} {name} step {t + 1} unit {i}"))  # fmt: skip
    return Measurement.worst(worst)
