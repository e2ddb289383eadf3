r"""A quadratic :math:`f(x) = \tfrac12 x^\top A x - b^\top x` with a chosen spectrum (host NumPy, float64).

A stand-in for the shared problems package: the claims on conjugate gradient,
the descent lemma and saddles need a quadratic whose eigenvalues they choose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Quadratic", "quadratic"]


@dataclass(frozen=True)
class Quadratic:
    """:math:`\\tfrac12 x^\\top A x - b^\\top x` with value, gradient, Hessian-vector product and minimiser."""

    A: np.ndarray
    b: np.ndarray
    eigenvalues: np.ndarray

    def value(self, x: np.ndarray) -> float:
        return float(0.5 * x @ (self.A @ x) - self.b @ x)

    def grad(self, x: np.ndarray) -> np.ndarray:
        return self.A @ x - self.b

    def hvp(self, x: np.ndarray, v: np.ndarray) -> np.ndarray:
        return self.A @ v

    @property
    def minimiser(self) -> np.ndarray:
        return np.linalg.solve(self.A, self.b)


def quadratic(eigenvalues: np.ndarray, rng: np.random.Generator) -> Quadratic:
    """Q diag(eigenvalues) Q^T with a Haar-random orthogonal Q, and a standard normal b."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    q, r = np.linalg.qr(rng.standard_normal((lam.size, lam.size)))
    q = q * np.sign(np.diag(r))  # makes Q Haar-distributed
    a = (q * lam) @ q.T
    return Quadratic((a + a.T) / 2.0, rng.standard_normal(lam.size), lam)
