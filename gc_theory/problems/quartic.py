r"""A small quartic :math:`L(\theta) = \tfrac12\theta^\top A\theta + \tfrac{c}{4}\sum_i \theta_i^4` (NumPy, host only).

A quadratic bowl bent by a quartic term, so that its third derivative is not
zero and second-order modified fields have something to correct.
"""

from __future__ import annotations

import numpy as np

from gc_theory.core.validation import check_real
from .quadratic import Quadratic

__all__ = ["Quartic"]


class Quartic(Quadratic):
    r""":math:`\tfrac12\theta^\top A\theta + \tfrac{c}{4}\sum_i\theta_i^4`, A from a chosen spectrum.

    Notes
    -----
    .. math::

        \nabla L = A\theta + c\,\theta^{3},\quad
        \nabla^2 L\,v = Av + 3c\,\theta^{2} v,\quad
        \nabla^3 L[u, v] = 6c\,\theta\, u\, v

    (powers and products entrywise).
    """

    def __init__(self, spectrum, c: float = 1.0, seed: int = 0) -> None:
        super().__init__(spectrum, seed)
        self.c = check_real(c, "c")

    def value(self, theta: np.ndarray) -> float:
        return super().value(theta) + float(0.25 * self.c * np.sum(theta**4))

    def grad(self, theta: np.ndarray) -> np.ndarray:
        return self.matrix @ theta + self.c * theta**3

    def hvp(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        return self.matrix @ v + 3.0 * self.c * theta**2 * v

    def third(self, theta: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return 6.0 * self.c * theta * u * v

    def modified_spectrum(self, h: float) -> np.ndarray:
        raise TypeError("a Quartic has no all-order modified loss: only quadratics do")

    def modified_flow(self, theta0: np.ndarray, h: float, t: float) -> np.ndarray:
        raise TypeError("a Quartic has no all-order modified loss: only quadratics do")
