r"""Modified vector fields of gradient descent and momentum: the flows the iterates follow (NumPy, host only).

Gradient descent :math:`\theta_{n+1} = \theta_n - h g(\theta_n)` is explicit
Euler for :math:`\theta' = f = -g`. Backward error analysis (Hairer, Lubich,
Wanner, Ch. IX) finds :math:`\tilde f_h = f + hf_2 + h^2f_3 + \dots` whose exact
flow over time h reproduces one step; for explicit Euler

.. math::

    f_2 = -\tfrac12 f'f, \qquad f_3 = \tfrac1{12}f''(f, f) + \tfrac13 f'f'f,

so with :math:`f = -g`, H the Hessian and :math:`T = \nabla^3 L`,

.. math::

    \tilde f_h = -g - \frac h2 Hg - h^2\Bigl(\frac13 H^2g + \frac1{12}T[g, g]\Bigr) + O(h^3).

For momentum :math:`v_{n+1} = \beta v_n + g_n` (PyTorch's SGD, dampening 0),
matching the two-step recursion
:math:`\theta_{n+1} - \theta_n - \beta(\theta_n - \theta_{n-1}) = -h[g_n + \nu\beta(g_n - g_{n-1})]`
(:math:`\nu = 0` heavy ball, :math:`\nu = 1` Nesterov) to second order gives

.. math::

    \theta' = -\frac1{1-\beta}\nabla\Bigl[L + h\,c_\beta\|\nabla L\|^2\Bigr],\quad
    c_\beta^{\mathrm{HB}} = \frac{1+\beta}{4(1-\beta)^2},\quad
    c_\beta^{\mathrm{N}} = \frac{1-\beta+2\beta^2}{4(1-\beta)^2},

derived in :func:`gc_theory.igr.symbolic.momentum_coefficient`: Nesterov's
implicit penalty is smaller than heavy ball's by :math:`\beta/(2(1-\beta))`.

Adam with :math:`\epsilon` inside the square root (Cattaneo, Klusowski and
Shigida's setting), :math:`m_{n+1} = \beta m_n + (1-\beta)g_n`,
:math:`v_{n+1} = \rho v_n + (1-\rho)g_n^2`,
:math:`\theta_{n+1} = \theta_n - h\,m_{n+1}/\sqrt{v_{n+1} + \epsilon}` (RMSprop is
:math:`\beta = 0`), follows, coordinate by coordinate, with
:math:`s = \sqrt{g^2 + \epsilon}`, :math:`\bar\beta = \beta/(1-\beta)`,
:math:`\bar\rho = \rho/(1-\rho)` and :math:`N_\epsilon = \sum_j s_j` the perturbed
one-norm of the gradient,

.. math::

    \theta_j' = -\frac{g_j}{s_j} - \frac{h}{s_j}\,
    \frac{(\bar\beta - \bar\rho)\,g_j^2 + (\bar\beta + \tfrac12)\,\epsilon}{s_j^2}\,
    \partial_j N_\epsilon,
    \qquad \partial_j N_\epsilon = \Bigl(H\frac{g}{s}\Bigr)_j,

derived in :func:`gc_theory.igr.symbolic.adam_correction`. Where
:math:`\epsilon \ll g_j^2` the correction is the preconditioned gradient of
:math:`h(\bar\beta - \bar\rho)N_\epsilon`: the one-norm is penalised when
:math:`\beta/(1-\beta) > \rho/(1-\rho)` and anti-penalised otherwise (Adam's
defaults 0.9, 0.999 anti-penalise it). With :math:`\epsilon` outside the root
(PyTorch's :math:`m/(\sqrt v + \epsilon)`) the same expansion needs
:math:`\sqrt{v} = |g| - h\bar\rho\,\mathrm{sign}(g)\dot g + O(h^2)`, so a modified
equation of this form holds only on a region where no gradient coordinate
vanishes (:math:`|g_j| \gg h|\dot g_j|`, where :math:`|g|` is smooth); near a
minimum, where the coordinates of g cross zero, the field
:math:`-g/(|g| + \epsilon)` has a Lipschitz constant of order :math:`\|H\|/\epsilon`
and the series in h does not apply.

References
----------
.. [1] D. G. T. Barrett and B. Dherin, "Implicit Gradient Regularization", ICLR 2021, Sec. 3.
.. [2] E. Hairer, C. Lubich, G. Wanner, *Geometric Numerical Integration*, 2nd ed., Springer 2006, Ch. IX.
.. [3] A. Ghosh et al., "Implicit regularization in Heavy-ball momentum accelerated stochastic gradient
   descent", ICLR 2023.
.. [4] M. D. Cattaneo, J. M. Klusowski, B. Shigida, "On the Implicit Bias of Adam", ICML 2024
   (arXiv:2309.00079).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gc_theory.core.validation import check_choice, check_int, check_positive, check_real, check_unit_interval
from ._checks import check_problem, check_series_step, check_step

__all__ = ["METHODS", "adam_field", "euler_series_field", "modified_field", "momentum_coefficient"]

#: Methods with a modified field, and the highest order implemented for each.
METHODS = {"gd": 2, "heavy_ball": 1, "nesterov": 1, "adam": 1, "rmsprop": 1}
_MOMENTUM = ("gd", "heavy_ball", "nesterov")

Field = Callable[[np.ndarray], np.ndarray]


def momentum_coefficient(method: str, beta: float) -> float:
    r""":math:`c_\beta` of the implicit penalty :math:`h c_\beta\|\nabla L\|^2` (1/4 for gd, beta = 0)."""
    method = check_choice(method, "method", _MOMENTUM)
    beta = check_unit_interval(beta, "beta")
    if method == "nesterov":
        return (1.0 - beta + 2.0 * beta * beta) / (4.0 * (1.0 - beta) ** 2)
    return (1.0 + beta) / (4.0 * (1.0 - beta) ** 2)


def euler_series_field(problem: Any, h: float, c2: float = 0.5,
                       c3: tuple[float, float] | None = (1.0 / 3.0, 1.0 / 12.0)) -> Field:
    r"""The field :math:`-g - c_2 h Hg - h^2(a H^2 g + b\,T[g, g])`, :math:`(a, b) = c_3`, without checks on h.

    :func:`modified_field` calls it with the derived coefficients; controls call
    it with wrong ones (1/4 for 1/2, the swapped pair (1/12, 1/3)) to show that the
    local error then keeps a lower order. ``c3=None`` stops at first order.
    """
    c2 = check_real(c2, "c2")
    if c3 is None:
        return lambda theta: _first_order(problem, theta, c2 * h)
    a, b = (check_real(c, "c3") for c in c3)

    def field(theta: np.ndarray) -> np.ndarray:
        g = problem.grad(theta)
        hg = problem.hvp(theta, g)
        return -g - c2 * h * hg - h * h * (a * problem.hvp(theta, hg) + b * problem.third(theta, g, g))

    return field


def adam_field(problem: Any, h: float, beta: float, rho: float, eps: float, order: int = 1) -> Field:
    r"""Adam's (RMSprop's for beta = 0) modified field with :math:`\epsilon` inside the root, without checks.

    Order 0 is the plain preconditioned flow :math:`-g/\sqrt{g^2 + \epsilon}`;
    order 1 adds the correction of the module docstring (one Hessian-vector product).
    """
    b, r = beta / (1.0 - beta), rho / (1.0 - rho)

    def field(theta: np.ndarray) -> np.ndarray:
        g = problem.grad(theta)
        s = np.sqrt(g * g + eps)
        plain = -g / s
        if order == 0:
            return plain
        # d/dt g along the plain flow, H(-g/s), is minus the gradient of the perturbed one-norm.
        g_dot = problem.hvp(theta, plain)
        return plain + h * g_dot * ((b - r) * g * g + (b + 0.5) * eps) / s**3

    return field


def _first_order(problem: Any, theta: np.ndarray, k: float) -> np.ndarray:
    g = problem.grad(theta)
    return -g - k * problem.hvp(theta, g)


def modified_field(problem: Any, h: float, *, method: str = "gd", order: int = 1, beta: float = 0.0,
                   rho: float = 0.999, eps: float = 1e-8, lambda_max: float | None = None) -> Field:
    r"""The modified vector field :math:`\theta \mapsto \theta'` that an optimiser with step h follows.

    Parameters
    ----------
    problem : problem
        ``grad`` always; ``hvp`` from order 1; ``third`` for order 2 (gd).
    h : float
        The step, > 0.
    method : {"gd", "heavy_ball", "nesterov", "adam", "rmsprop"}
        Gradient descent, PyTorch's SGD momentum (dampening 0) without or with Nesterov,
        or Adam/RMSprop with :math:`\epsilon` inside the square root (no bias correction;
        :func:`~gc_theory.igr.adam_descent`).
    order : int
        0: the plain flow (:math:`-g/(1-\beta)`, or :math:`-g/\sqrt{g^2 + \epsilon}` for
        adam/rmsprop); 1: with the implicit correction; 2 (gd only): with the :math:`h^2` term.
    beta : float
        Momentum (Adam's first-moment decay) in [0, 1); must be 0 for gd and rmsprop.
    rho : float
        Adam's/RMSprop's second-moment decay in [0, 1) (ignored by the others).
    eps : float
        :math:`\epsilon > 0` inside :math:`\sqrt{v + \epsilon}` (adam/rmsprop only).
    lambda_max : float, optional
        The largest Hessian eigenvalue along the path, to refuse
        :math:`h\lambda_{\max} \ge 1`; default ``problem.lambda_max`` when it has one.

    Returns
    -------
    callable
        ``field(theta) -> theta'`` (1-d float64 arrays).

    Raises
    ------
    ValueError
        h not > 0 and finite, beta or rho outside [0, 1), eps not > 0, an order
        beyond what is implemented for `method`, or :math:`h\lambda_{\max} \ge 1` for order >= 1.
    TypeError
        A problem without the derivative the order needs.

    Notes
    -----
    See the module docstring for the fields and their derivation; for adam and
    rmsprop the moments must start on their slow values (``warm=True`` in
    :func:`~gc_theory.igr.adam_descent`) for the O(h^2) agreement. One step of
    gd differs from the exact flow of the order-k field by :math:`O(h^{k+2})`.
    """
    h = check_step(h)
    method = check_choice(method, "method", METHODS)
    beta = check_unit_interval(beta, "beta")
    if method in ("gd", "rmsprop") and beta != 0.0:
        other = "'heavy_ball' or 'nesterov'" if method == "gd" else "'adam'"
        raise ValueError(f"beta must be 0 for method={method!r} (use {other}), got {beta}")
    order = check_int(order, "order", minimum=0)
    if order > METHODS[method]:
        raise ValueError(f"order must be <= {METHODS[method]} for method={method!r} (higher orders are not "
                         f"implemented), got {order}")
    needs = ("grad", "hvp", "third")[: order + 1]
    check_problem(problem, "problem", needs, f"a modified field of order {order}")
    if order >= 1:
        check_series_step(h, getattr(problem, "lambda_max", None) if lambda_max is None else lambda_max)
    if method in ("adam", "rmsprop"):
        rho = check_unit_interval(rho, "rho")
        eps = check_positive(eps, "eps")
        return adam_field(problem, h, beta, rho, eps, order)
    scale = 1.0 / (1.0 - beta)
    if order == 0:
        return lambda theta: -scale * problem.grad(theta)
    if method == "gd":
        return euler_series_field(problem, h, 0.5, (1.0 / 3.0, 1.0 / 12.0) if order == 2 else None)
    k = 2.0 * h * momentum_coefficient(method, beta)
    return lambda theta: scale * _first_order(problem, theta, k)
