r"""AdaGrad and RMSprop on a constant gradient: their steps in closed form.

With :math:`g_t = g` for every t, torch's recursions (:mod:`gc_theory.optim.adaptive`)
have exact solutions per coordinate:

.. math::

    \text{AdaGrad: } G_t = t g^2, \qquad
    \Delta_t = \frac{\eta\, g}{\sqrt{t}\,|g| + \epsilon}
             = \frac{\eta}{\sqrt t}\,\mathrm{sign}(g) + O(\epsilon),

    \text{RMSprop: } v_t = (1-\alpha^t) g^2, \qquad
    \Delta_t = \frac{\eta\, g}{\sqrt{1-\alpha^t}\,|g| + \epsilon}
             \;\longrightarrow\; \eta\,\mathrm{sign}(g) .

AdaGrad's step is the same on every coordinate (up to :math:`\epsilon`), so
relative to gradient descent's :math:`\eta g` it is :math:`1/(\sqrt t |g|)`
smaller on a steeper coordinate, and it shrinks like :math:`1/\sqrt t`
whatever the gradient: AdaGrad stalls. RMSprop forgets (its :math:`v_t` is an
EWMA, :mod:`gc_theory.optim.ewma`), so its step tends to the constant
:math:`\eta\,\mathrm{sign}(g)`, from above: :math:`1/\sqrt{1-\alpha^t}` is
:math:`1/\sqrt{1-\alpha} = 10` at t = 1 for torch's :math:`\alpha = 0.99`.

References
----------
.. [1] J. Duchi, E. Hazan, Y. Singer, "Adaptive Subgradient Methods", JMLR 12, 2011.
.. [2] T. Tieleman, G. Hinton, Lecture 6.5 (RMSprop), COURSERA: Neural Networks for Machine Learning, 2012.
.. [3] S. Ruder, "An overview of gradient descent optimization algorithms", arXiv:1609.04747, Sec. 4.3, 4.5.
"""

from __future__ import annotations

import math
from typing import Any

from gc_theory.core.backend import array_namespace, dtype_name
from gc_theory.verify.measurement import Measurement
from gc_theory.verify.tolerances import gamma, unit_roundoff

from .adaptive import AdaGrad, RMSprop

__all__ = ["adagrad_constant_measurement", "constant_gradient_steps", "rmsprop_constant_measurement"]

U64 = 2.0**-53


def constant_gradient_steps(opt: Any, g: Any, steps: int) -> list[Any]:
    r"""The updates :math:`\Delta_1, \dots, \Delta_t` of `opt` fed the constant gradient `g`.

    Each step starts from zero parameters with the carried state (the
    gradient does not depend on the parameters), so the returned
    :math:`-(0 - \Delta_t)` is the update itself, free of the cancellation a
    difference of iterates would add.

    Examples
    --------
    >>> import numpy as np
    >>> from gc_theory.optim import AdaGrad
    >>> [round(float(d[0]), 12) for d in constant_gradient_steps(AdaGrad(lr=1.0, eps=1e-300), np.array([3.0]), 4)]
    [1.0, 0.707106781187, 0.57735026919, 0.5]
    """
    xp = array_namespace(g)
    zero = {"w": xp.zeros_like(g)}
    state, out = opt.init(zero), []
    for _ in range(steps):
        new, state = opt.step(zero, {"w": g}, state)
        out.append(-new["w"])
    return out


def _u_conv(dtype: Any) -> float:
    return 0.0 if dtype_name(dtype) == "float64" else unit_roundoff(dtype)


def adagrad_constant_measurement(g: Any, lr: float = 0.1, eps: float = 1e-10, steps: int = 50, *,
                                 root: bool = True) -> Measurement:  # fmt: skip
    r"""Worst relative error of AdaGrad's steps against :math:`\eta g/(\sqrt{t}|g| + \epsilon)`.

    ``root=False`` holds them to the formula without the square root,
    :math:`\eta g/(t g^2 + \epsilon)` (the control).

    Notes
    -----
    :math:`G_t` is a sum of t equal terms :math:`\mathrm{fl}(g^2)`: relative
    error :math:`\gamma_{t+1}`; the root halves it and adds u; adding
    :math:`\epsilon`, dividing and scaling by :math:`\eta` add 4u more, so the
    step has relative error at most :math:`\gamma_{t+1}/2 + \gamma_5`, plus
    :math:`u_c` for :math:`\eta` rounded to the dtype and :math:`4u_{64}` for
    the float64 reference.
    """
    xp = array_namespace(g)
    absg = xp.abs(g)
    u_c, worst = _u_conv(g.dtype), []
    for t, step in enumerate(constant_gradient_steps(AdaGrad(lr=lr, eps=eps), g, steps), start=1):
        denom = (math.sqrt(t) * absg if root else t * absg * absg) + eps
        rel = float(xp.max(xp.abs(step - lr * g / denom) / (lr * absg / denom)))
        tol = gamma(t + 1, g.dtype) / 2 + gamma(5, g.dtype) + u_c + 4 * U64
        worst.append(Measurement(rel, tol, 1.0, f"t={t}" + ("" if root else " (no root)")))
    return Measurement.worst(worst)


def rmsprop_constant_measurement(g: Any, alpha: float = 0.99, lr: float = 1e-2, eps: float = 1e-8, steps: int = 50,
                                 *, swapped: bool = False) -> Measurement:  # fmt: skip
    r"""Worst relative error of RMSprop's steps against :math:`\eta g/(\sqrt{1-\alpha^t}|g| + \epsilon)`.

    ``swapped=True`` holds them to the formula with :math:`\alpha` replaced by
    :math:`1-\alpha` (the weights of the old average and the new gradient
    exchanged: the control).

    Notes
    -----
    Each step of :math:`v_t = \alpha v_{t-1} + (1-\alpha)g^2` rounds twice on
    terms at most :math:`g^2` and earlier errors are damped by :math:`\alpha`,
    so :math:`|\Delta v_t| \le \gamma_3 g^2 (1-\alpha^t)/(1-\alpha)` (one more
    for :math:`\mathrm{fl}(g^2)`), a relative :math:`\gamma_3/(1-\alpha)`;
    the coefficients :math:`\alpha, 1-\alpha` rounded to the dtype change
    :math:`v_t` by a relative
    :math:`u_c(1 + \alpha/(1-\alpha) + t\alpha^t/(1-\alpha^t))`. The root
    halves both and adds u, and :math:`\epsilon`, the division and
    :math:`\eta` add 4u more (:math:`\gamma_5`, with the root's); the float64
    reference :math:`1-\alpha^t` costs :math:`u_{64}(t+4)/(1-\alpha^t)`.
    """
    xp = array_namespace(g)
    absg = xp.abs(g)
    u_c, worst = _u_conv(g.dtype), []
    a = 1.0 - alpha if swapped else alpha
    for t, step in enumerate(constant_gradient_steps(RMSprop(lr=lr, alpha=alpha, eps=eps), g, steps), start=1):
        bias = 1.0 - a**t
        denom = math.sqrt(bias) * absg + eps
        rel = float(xp.max(xp.abs(step - lr * g / denom) / (lr * absg / denom)))
        at = alpha**t
        tol = (gamma(3, g.dtype) / (1 - alpha) + u_c * (1 + alpha / (1 - alpha) + t * at / (1 - at))) / 2 \
            + gamma(5, g.dtype) + u_c + U64 * (t + 4) / (1 - at)
        worst.append(Measurement(rel, tol, 1.0, f"alpha={alpha} t={t}" + (" (alpha -> 1 - alpha)" if swapped else "")))
    return Measurement.worst(worst)
