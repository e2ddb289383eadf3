r"""The many forms of one method, measured against each other: Nesterov's two forms, momentum's forms, the EWMA's bias correction.

Two forms of an optimiser are the same exact map after a change of
variables, so their computed trajectories differ only by rounding. On the
separable quadratic :math:`J(\theta) = \frac12 \sum_j h_j(\theta_j - c_j)^2`
each coordinate evolves by a 2x2 linear map :math:`T_j` in the variables
:math:`(x, v)` (position relative to :math:`c`, velocity), so a local
rounding error :math:`\varepsilon_s` made at step s is carried to step t by
:math:`T_j^{t-s}`. Each step of either form rounds at most 6 times per
coordinate, each time on quantities bounded by
:math:`S_s = \max_j(|\theta| + |v| + |\phi| + \eta|b| + |c| + \eta|g|)`, and the
change of variables costs a factor :math:`1 + \gamma \le 2`, so

.. math::

    |\Delta_t| \le \sum_{s=1}^{t} K_{t-s}\, 2 \cdot 2 \cdot 6\,u\, S_s + 4 u S_t,
    \qquad K_k = \max_j \|T_j^k\|_\infty,

the last term for forming the compared quantity. :math:`K_k` is computed from
the :math:`h_j` in float64 on the host.

References
----------
S. Ruder, "An overview of gradient descent optimization algorithms",
arXiv:1609.04747, Sec. 4.1-4.2 and 4.6; I. Sutskever et al., ICML 2013,
Sec. 3; Y. Bengio et al., ICASSP 2013, Sec. 3.5; D. P. Kingma, J. Ba, ICLR 2015, Sec. 3.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gc_theory.core.backend import array_namespace, dtype_name
from gc_theory.verify.measurement import Measurement
from gc_theory.verify.tolerances import gamma, unit_roundoff

from .ewma import EWMA
from .schedules import step_decay
from .sgd import SGD
from .trajectory import record_trajectory

__all__ = ["ewma_bias_measurement", "forms_measurement", "momentum_forms", "nesterov_forms"]

#: ``(h_host, h, c, grad)``: curvatures on the host and on the backend, minimiser, ``grad(params, t)``.
Quadratic = tuple[np.ndarray, Any, Any, Callable[[dict[str, Any], int], dict[str, Any]]]

STEPS = 40


def _propagation(matrices: np.ndarray, steps: int) -> np.ndarray:
    """K_k = max_j ||T_j^k||_inf for k = 0..steps, from the stack of 2x2 maps (float64, host)."""
    K = np.empty(steps + 1)
    power = np.broadcast_to(np.eye(2), matrices.shape).copy()
    for k in range(steps + 1):
        K[k] = np.abs(power).sum(axis=-1).max()
        power = matrices @ power
    return K


def _sup(*arrays: Any) -> float:
    total = 0.0
    for a in arrays:
        xp = array_namespace(a)
        total += float(xp.max(xp.abs(a)))
    return total


def forms_measurement(first: list[Any], second: list[Any], scales: list[float], K: np.ndarray, dtype: Any) -> Measurement:
    """Worst |first_t - second_t| over steps against the propagated rounding bound of the module docstring."""
    u = unit_roundoff(dtype)
    worst = []
    for t in range(1, len(first)):
        xp = array_namespace(first[t])
        residual = float(xp.max(xp.abs(first[t] - second[t])))
        tol = sum(K[t - s] * 24 * u * scales[s] for s in range(1, t + 1)) + 4 * u * scales[t]
        worst.append(Measurement(residual, tol, scales[t], f"step {t}"))
    return Measurement.worst(worst)


def nesterov_forms(quadratic: Quadratic, w0: dict[str, Any], *, control: bool = False, lr: float = 0.1,
                   momentum: float = 0.9, steps: int = STEPS) -> Measurement:  # fmt: skip
    r"""Torch-form iterates :math:`\phi_t` against the look-ahead form's :math:`\theta_t - \gamma v_t`.

    `quadratic` is ``(h_host, h, c, grad)`` of the separable quadratic (as
    :func:`gc_theory.problems.regression.diagonal_quadratic` returns it) and
    `w0` the start ``{"w": array}``; ``control=True`` forgets the change of
    variables and compares :math:`\theta_t` itself.
    """
    h_host, h, c, grad = quadratic
    dtype = w0["w"].dtype
    torch_form = record_trajectory(SGD(lr, momentum, nesterov=True), w0, grad, steps)
    look = SGD(lr, momentum, nesterov=True, nesterov_form="lookahead")
    ahead = record_trajectory(look, w0, grad, steps)
    phi = [p["w"] for p in torch_form.params]
    # The change of variables phi = theta - gamma v; the control forgets it and compares theta itself.
    mapped = [p["w"] if control else look.gradient_point(p, s)["w"] for p, s in zip(ahead.params, ahead.states)]
    scales = [0.0] + [
        _sup(ahead.params[t]["w"], ahead.states[t].momentum_buffer["w"], phi[t], c)
        + lr * _sup(torch_form.states[t].momentum_buffer["w"], ahead.grads[t - 1]["w"], torch_form.grads[t - 1]["w"])
        for t in range(1, steps + 1)
    ]
    # (x, v) with x = phi - c, v = lr*b: x' = (1 - lr(1+g)h) x - g^2 v, v' = lr h x + g v.
    g = momentum
    T = np.stack([np.stack([1 - lr * (1 + g) * h_host, -g * g * np.ones_like(h_host)], -1),
                  np.stack([lr * h_host, g * np.ones_like(h_host)], -1)], -2)  # fmt: skip
    return forms_measurement(phi, mapped, scales, _propagation(T, steps), dtype)


def momentum_forms(quadratic: Quadratic, w0: dict[str, Any], *, control: bool = False, lr: float = 0.05,
                   momentum: float = 0.9, steps: int = STEPS) -> list[Measurement]:  # fmt: skip
    r"""The velocity form against the EWMA form with :math:`\alpha = \eta/(1-\beta)`, and against torch's form.

    `quadratic` and `w0` as for :func:`nesterov_forms`. Control: the EWMA form
    with the same :math:`\eta` (no rescaling), and the torch form under a
    step-decay schedule (lr inside vs outside the buffer).
    """
    h_host, h, c, grad = quadratic
    dtype = w0["w"].dtype
    g = momentum
    T = np.stack([np.stack([1 - lr * h_host, -g * np.ones_like(h_host)], -1),
                  np.stack([lr * h_host, g * np.ones_like(h_host)], -1)], -2)  # fmt: skip
    K = _propagation(T, steps)
    results = []
    schedule = step_decay(lr, step_size=10, gamma=0.5) if control else lr
    pairs = (
        (SGD(lr, g, momentum_form="velocity"), SGD(lr if control else lr / (1 - g), g, momentum_form="ewma")),
        (SGD(schedule, g, momentum_form="velocity"), SGD(schedule, g, momentum_form="torch")),
    )
    for a, b in pairs:
        ta, tb = (record_trajectory(o, w0, grad, steps) for o in (a, b))
        scales = [0.0] + [
            _sup(ta.params[t]["w"], ta.states[t].momentum_buffer["w"], c)
            + b.lr_at(t - 1) / (1 - g) * _sup(tb.states[t].momentum_buffer["w"], ta.grads[t - 1]["w"])
            for t in range(1, steps + 1)
        ]
        results.append(forms_measurement([p["w"] for p in ta.params], [p["w"] for p in tb.params], scales, K, dtype))
    return results


def ewma_bias_measurement(c: Any, beta: float, bias_correction: bool, steps: int = 50) -> Measurement:
    r"""Worst relative error :math:`|\hat v_t - c|/|c|` of the EWMA of the constant sequence `c` (an array, no zero entry).

    Notes
    -----
    Each update rounds twice on quantities bounded by :math:`|c|` (up to
    second order) and the error is damped by :math:`\beta` per step, so the
    accumulated error is at most :math:`\gamma_2|c|\sum_{k<t}\beta^k`; bias
    correction divides it by :math:`1 - \beta^t`. The coefficients
    :math:`\beta` and :math:`1-\beta` are Python floats rounded to the array's
    dtype (:math:`u_c`: 0 in float64), which changes the sum of the weights by
    a relative :math:`u_c(1 + \beta/(1-\beta) + t\beta^t/(1-\beta^t))`, and
    :math:`1 - \beta^t` and the division cost :math:`u(3 + \beta^t/(1-\beta^t))`.
    A factor 2 on the accumulated term absorbs the second-order terms while
    the bound is below 1/2.
    """
    xp = array_namespace(c)
    u = unit_roundoff(c.dtype)
    u_conv = 0.0 if dtype_name(c.dtype) == "float64" else u
    worst = []
    avg = EWMA(beta, bias_correction=bias_correction)
    state = avg.init(c)
    for t in range(1, steps + 1):
        state = avg.update(state, c)
        rel = float(xp.max(xp.abs(avg.value(state) - c) / xp.abs(c)))
        bt = beta**t
        accumulated = 2 * gamma(2, c.dtype) * (1 - bt) / (1 - beta) / (1 - bt)
        tol = accumulated + u_conv * (1 + beta / (1 - beta) + t * bt / (1 - bt)) + u * (3 + bt / (1 - bt))
        worst.append(Measurement(rel, tol, 1.0, f"beta={beta} t={t}"))
    return Measurement.worst(worst)
