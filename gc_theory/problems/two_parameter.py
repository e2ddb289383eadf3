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

from .._validation import check_real

__all__ = ["TwoParameter"]


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
        return 0.5 * self.residual(theta) ** 2

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
