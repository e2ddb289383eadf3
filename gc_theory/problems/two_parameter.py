r"""The two-parameter model of Barrett & Dherin: :math:`L(a, b) = \tfrac12 (y - abx)^2` (NumPy, host only).

The smallest model with a curve of minima (the hyperbola :math:`ab = y/x`)
along which the sharpness :math:`x^2(a^2 + b^2)` changes, so that an implicit
preference for flat minima can be seen. The gradient flow conserves
:math:`a^2 - b^2`; gradient descent contracts it by :math:`1 - h^2x^2r^2` per step.

References
----------
.. [1] D. G. T. Barrett and B. Dherin, "Implicit Gradient Regularization", ICLR 2021, Sec. 3.
"""

from __future__ import annotations

import numpy as np

from gc_theory.core.validation import check_real
from gc_theory.verify.order_fit import fit_order, geometric_ladder
from gc_theory.igr import dense_lambda_max, gradient_descent, modified_field, one_step_errors, sampled_flow

__all__ = ["FLOW_TIMES", "TWO_PARAMETER_START", "TWO_PARAMETER_STEPS", "TWO_PARAMETER_TIME", "TwoParameter",
           "two_parameter_local_errors", "two_parameter_runs"]


#: The two-parameter start of the figure: above the hyperbola, a^2 - b^2 = -4.41, lambda_max = 28.8.
TWO_PARAMETER_START = (2.8, 3.5)
#: Steps of gradient descent on the two-parameter model (h lambda_max(theta_0) = 0.14, 0.43, 0.81).
TWO_PARAMETER_STEPS = (0.005, 0.015, 0.028)
#: Time every two-parameter run covers: long enough that each has settled on the hyperbola.
TWO_PARAMETER_TIME = 8.4
#: Times at which the flows are sampled: finely while a^2 - b^2 moves, then coarsely.
FLOW_TIMES = np.concatenate([np.linspace(0.0, 0.6, 241), np.linspace(0.6, TWO_PARAMETER_TIME, 38)[1:]])


class TwoParameter:
    r""":math:`L(\theta) = \tfrac12 r^2`, :math:`r = y - abx`, :math:`\theta = (a, b)`.

    Notes
    -----
    .. math::

        \nabla L = -rx\,(b, a),\qquad
        \nabla^2 L = x^2 \begin{pmatrix} b^2 & ab \\ ab & a^2 \end{pmatrix}
                     - rx \begin{pmatrix} 0 & 1 \\ 1 & 0\end{pmatrix},

    and the only non-zero third derivatives are
    :math:`L_{aab} = 2x^2 b`, :math:`L_{abb} = 2x^2 a` (and their permutations).
    """

    dim = 2

    def __init__(self, x: float = 1.0, y: float = 1.0) -> None:
        self.x = check_real(x, "x")
        self.y = check_real(y, "y")

    def residual(self, theta: np.ndarray) -> float:
        return float(self.y - theta[0] * theta[1] * self.x)

    def value(self, theta: np.ndarray) -> float:
        r = self.residual(theta)
        # r * r, not r ** 2: a Python float power raises OverflowError where a product rounds to inf.
        return 0.5 * r * r

    def grad(self, theta: np.ndarray) -> np.ndarray:
        a, b = theta
        return -self.residual(theta) * self.x * np.array([b, a])

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        a, b = theta
        x, r = self.x, self.residual(theta)
        off = x * x * a * b - r * x
        return np.array([[x * x * b * b, off], [off, x * x * a * a]])

    def hvp(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        return self.hessian(theta) @ v

    def third(self, theta: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        a, b = theta
        k = 2.0 * self.x * self.x
        return k * np.array([b * (u[0] * v[1] + u[1] * v[0]) + a * u[1] * v[1],
                             b * u[0] * v[0] + a * (u[0] * v[1] + u[1] * v[0])])

    def sharpness(self, theta: np.ndarray) -> float:
        """The largest Hessian eigenvalue; :math:`x^2(a^2 + b^2)` on the curve of minima."""
        return float(np.linalg.eigvalsh(self.hessian(theta))[-1])

    def conserved(self, theta: np.ndarray) -> float:
        """:math:`Q = a^2 - b^2`, constant along the gradient flow."""
        return float(theta[0] ** 2 - theta[1] ** 2)


def two_parameter_runs(start=TWO_PARAMETER_START, steps=TWO_PARAMETER_STEPS, T=TWO_PARAMETER_TIME):
    """GD iterates for each step, and the points of the plain and the order-1 modified flows on the same times.

    Returns ``(problem, runs)``, ``runs[h] = (gd, igr_flow)`` with ``gd`` the iterates (rows) and ``igr_flow``
    the order-1 modified flow at the times FLOW_TIMES (which end at T);
    ``runs[0.0] = (None, plain_flow)`` on the same times.
    """
    problem = TwoParameter(x=1.0, y=1.0)
    theta0 = np.asarray(start, dtype=np.float64)
    lam = dense_lambda_max(problem, theta0)
    runs = {}
    for h in steps:
        n = int(round(T / h))
        gd = gradient_descent(problem, theta0, h, n)
        field = modified_field(problem, h, order=1, lambda_max=lam)
        runs[h] = (gd, sampled_flow(field, theta0, FLOW_TIMES))
    plain = modified_field(problem, 1.0, order=0)
    runs[0.0] = (None, sampled_flow(plain, theta0, FLOW_TIMES))
    return problem, runs


def two_parameter_local_errors(start=TWO_PARAMETER_START, rungs=6):
    """One GD step against the flows of the order-0, 1, 2 modified fields on a ladder with h_max lambda = 0.2.

    Returns ``(steps, {order: (errors, OrderFit)})``.
    """
    problem = TwoParameter(x=1.0, y=1.0)
    theta0 = np.asarray(start, dtype=np.float64)
    lam = dense_lambda_max(problem, theta0)
    steps = geometric_ladder(0.2 / lam, rungs)
    out = {}
    for k in (0, 1, 2):
        errors, floors = one_step_errors(lambda t, h: t - h * problem.grad(t),
                                         lambda h, k=k: modified_field(problem, h, order=k, lambda_max=lam),
                                         theta0, steps)
        out[k] = (errors, fit_order(steps, errors, rounding_floor=floors))
    return steps, out
