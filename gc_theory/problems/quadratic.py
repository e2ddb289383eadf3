r"""A quadratic :math:`L(\theta) = \tfrac12 \theta^\top A \theta` with a chosen spectrum.

The one problem on which backward error analysis is exact to all orders: for
:math:`h\lambda_{\max} < 1` gradient descent with step h *is* the gradient flow
of :math:`\tfrac12\theta^\top \tilde A_h \theta`,
:math:`\tilde A_h = -\log(I - hA)/h` (NumPy, host only).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gc_theory.core.validation import check_positive, check_seed
from gc_theory.igr import gradient_descent

__all__ = ["QUADRATIC_H_LAMBDA", "Quadratic", "quadratic_runs"]


#: Steps times lambda_max shown on the quadratic, either side of 1 (series) and 2 (stability).
QUADRATIC_H_LAMBDA = (0.3, 0.9, 1.5, 1.9, 2.05)


class Quadratic:
    r""":math:`L(\theta) = \tfrac12\theta^\top A\theta`, :math:`A = Q\,\mathrm{diag}(\lambda)\,Q^\top`.

    Parameters
    ----------
    spectrum : sequence of float
        The eigenvalues :math:`\lambda_i > 0` of A.
    seed : int
        Seeds the random orthogonal Q (Haar, by QR of a Gaussian matrix).

    Notes
    -----
    grad :math:`= A\theta`, hvp :math:`= Av`, and the third derivative vanishes.
    """

    def __init__(self, spectrum: Sequence[float], seed: int = 0) -> None:
        lam = np.asarray([check_positive(s, "spectrum") for s in spectrum], dtype=np.float64)
        if lam.size == 0:
            raise ValueError("spectrum must have at least one eigenvalue, got []")
        rng = np.random.default_rng(check_seed(seed))
        q, r = np.linalg.qr(rng.standard_normal((lam.size, lam.size)))
        self.eigenvectors = q * np.sign(np.diag(r))
        self.spectrum = lam
        self.matrix = (self.eigenvectors * lam) @ self.eigenvectors.T
        self.dim = int(lam.size)

    @property
    def lambda_max(self) -> float:
        return float(self.spectrum.max())

    def value(self, theta: np.ndarray) -> float:
        return float(0.5 * theta @ (self.matrix @ theta))

    def grad(self, theta: np.ndarray) -> np.ndarray:
        return self.matrix @ theta

    def hvp(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        return self.matrix @ v

    def third(self, theta: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return np.zeros_like(theta)

    def modified_spectrum(self, h: float) -> np.ndarray:
        r""":math:`-\log(1 - h\lambda_i)/h`, the eigenvalues of the all-order modified matrix (needs :math:`h\lambda_{\max} < 1`)."""
        h = check_positive(h, "h")
        if h * self.lambda_max >= 1.0:
            raise ValueError(f"h must satisfy h*lambda_max < 1 for the all-order modified loss, got h*lambda_max = "
                             f"{h * self.lambda_max:g}: log(1 - h*lambda) is not real there, so no modified flow exists")
        return -np.log1p(-h * self.spectrum) / h

    def modified_flow(self, theta0: np.ndarray, h: float, t: float) -> np.ndarray:
        r"""The exact flow of :math:`\tfrac12\theta^\top\tilde A_h\theta` at time t, :math:`Q e^{-t\tilde\Lambda} Q^\top\theta_0`."""
        mu = self.modified_spectrum(h)
        return self.eigenvectors @ (np.exp(-t * mu) * (self.eigenvectors.T @ theta0))


def quadratic_runs(h_lambdas=QUADRATIC_H_LAMBDA, steps=40):
    """GD on a 2-d quadratic (spectrum 0.2, 1) for each h lambda_max: the top-eigenvector coordinate per step,
    and the exact modified flow at the same times where h lambda_max < 1 (None otherwise)."""
    problem = Quadratic((0.2, 1.0), seed=0)
    top = problem.eigenvectors[:, int(np.argmax(problem.spectrum))]
    theta0 = problem.eigenvectors @ np.array([1.0, 1.0])
    out = {}
    for hl in h_lambdas:
        h = hl / problem.lambda_max
        gd = gradient_descent(problem, theta0, h, steps) @ top
        modified = None
        if hl < 1.0:
            modified = np.array([problem.modified_flow(theta0, h, i * h) @ top for i in range(steps + 1)])
        out[hl] = (gd, modified)
    return out
