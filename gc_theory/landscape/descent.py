r"""Taylor's first-order remainder and the descent lemma for gradient descent.

For a twice-differentiable loss L with gradient g at x,

.. math::

    L(x + d) - L(x) - g^\top d = \tfrac12 d^\top \nabla^2 L(\xi)\, d = O(\lVert d\rVert^2),

and if L is :math:`L_s`-smooth (:math:`\lVert \nabla^2 L\rVert_2 \le L_s`
everywhere) the step :math:`d = -\eta g` obeys the *descent lemma*

.. math::

    L(x - \eta g) \le L(x) - \eta\Bigl(1 - \frac{L_s \eta}{2}\Bigr)\lVert g\rVert^2 ,

so gradient descent decreases L at every step when :math:`0 < \eta < 2/L_s`.
On a quadratic the bound is tight along the top eigenvector, and
:math:`\eta > 2/L_s` makes that component grow by :math:`|1 - \eta L_s| > 1`
per step. :math:`L_s` is computed, not assumed: :func:`smoothness` runs power
iteration on Hessian-vector products (:func:`gc_theory.landscape.power_iteration.top_eigenvalue`).

Every function takes callables on arrays of any array-API namespace.

References
----------
.. [1] Y. Nesterov, *Lectures on Convex Optimization*, 2nd ed., Springer, 2018, Lemma 1.2.3.
.. [2] J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed., 2006, Thm. 2.1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gc_theory.core.validation import check_callable, check_finite_floating, check_int, check_positive
from .power_iteration import PowerIteration, top_eigenvalue

__all__ = ["descent_bound", "gradient_descent_losses", "smoothness", "taylor_remainders"]


def taylor_remainders(f: Callable[[Any], Any], g: Any, x: Any, d: Any, steps: Any) -> list[float]:
    r""":math:`|L(x + h d) - L(x) - h\, g^\top d|` for each h in `steps` (plain floats)."""
    check_callable(f, "f")
    xp = check_finite_floating(x, "x")
    check_finite_floating(g, "g")
    check_finite_floating(d, "d")
    f0, slope = float(f(x)), float(xp.vecdot(g, d))
    return [abs(float(f(x + h * d)) - f0 - h * slope) for h in np.asarray(steps, dtype=np.float64).tolist()]


def descent_bound(f0: float, grad_norm_sq: float, eta: float, smoothness_constant: float) -> float:
    r"""The descent lemma's bound :math:`L(x) - \eta(1 - L_s\eta/2)\lVert g\rVert^2`."""
    eta = check_positive(eta, "eta")
    smoothness_constant = check_positive(smoothness_constant, "smoothness_constant")
    return float(f0) - eta * (1.0 - smoothness_constant * eta / 2.0) * float(grad_norm_sq)


def smoothness(hvp: Callable[[Any], Any], v0: Any, *, tol: float = 1e-10, maxiter: int = 2000) -> PowerIteration:
    r"""The smoothness constant of a quadratic, :math:`L_s = \lVert H\rVert_2`, by power iteration.

    For a non-quadratic loss this is the curvature at one point, a lower bound
    on the global constant; the returned ``error_bound`` says how far the
    estimate may be from an eigenvalue of H.
    """
    result = top_eigenvalue(hvp, v0, tol=tol, maxiter=maxiter)
    return result._replace(eigenvalue=abs(result.eigenvalue))


def gradient_descent_losses(f: Callable[[Any], Any], grad: Callable[[Any], Any], x0: Any, eta: float, steps: int) -> list[float]:
    r"""The losses :math:`L(x_0), \dots, L(x_T)` of :math:`x_{k+1} = x_k - \eta \nabla L(x_k)` (plain floats)."""
    check_callable(f, "f")
    check_callable(grad, "grad")
    check_finite_floating(x0, "x0")
    eta = check_positive(eta, "eta")
    steps = check_int(steps, "steps", minimum=0)
    x, losses = x0, [float(f(x0))]
    for _ in range(steps):
        x = x - eta * grad(x)
        losses.append(float(f(x)))
    return losses
