r"""The quadratic CG solves, :math:`f(x) = \tfrac12 x^\top A x - b^\top x` with A symmetric positive definite.

Its minimiser solves :math:`Ax = b`, its gradient is the residual :math:`Ax - b`
and its Hessian is A everywhere, so the descent lemma, the saddle and CG's
theorems can be checked against exact numbers. :func:`spd_quadratic` draws one
with a chosen spectrum: :math:`A = Q\operatorname{diag}(\lambda)Q^\top` with a
Haar-random orthogonal Q and a standard normal b.

Array API: A and b live in the namespace they are given (NumPy by default);
the value is handed out as a Python float, as every caller compares it on the host.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np

from gc_theory.core.validation import check_positive
from gc_theory.core.backend import array_namespace, get_namespace, resolve_dtype

__all__ = ["SPDQuadratic", "spd_quadratic"]


class SPDQuadratic:
    r""":math:`f(x) = \tfrac12 x^\top A x - b^\top x`: value, gradient, Hessian-vector product, minimiser.

    Parameters
    ----------
    A : array, shape (n, n)
        Symmetric positive definite (not checked here: :func:`spd_quadratic`
        builds one; the CG routines check what they need).
    b : array, shape (n,)
        The linear term, in A's namespace and dtype.
    eigenvalues : sequence of float, optional
        A's spectrum in ascending order when known; computed with ``eigvalsh`` otherwise.

    Notes
    -----
    .. math::

        \nabla f(x) = Ax - b, \qquad \nabla^2 f(x)\,v = Av, \qquad \nabla^3 f = 0, \qquad x^\star = A^{-1}b .
    """

    def __init__(self, A: Any, b: Any, eigenvalues: Sequence[float] | None = None) -> None:
        xp = array_namespace(A, b)
        if A.ndim != 2 or A.shape[0] != A.shape[1] or tuple(b.shape) != (A.shape[0],):
            raise ValueError(f"A must be square (n, n) and b of shape (n,), got A {tuple(A.shape)} and b {tuple(b.shape)}")
        self.A, self.b, self.dim = A, b, int(A.shape[0])
        spectrum = xp.linalg.eigvalsh(A) if eigenvalues is None else eigenvalues
        self.eigenvalues = np.sort(np.asarray([float(s) for s in spectrum], dtype=np.float64))

    @property
    def condition_number(self) -> float:
        return float(self.eigenvalues[-1] / self.eigenvalues[0])

    @property
    def minimiser(self) -> Any:
        """:math:`A^{-1}b`, in the problem's namespace."""
        return array_namespace(self.A).linalg.solve(self.A, self.b)

    def value(self, x: Any) -> float:
        xp = array_namespace(x)
        return float(0.5 * xp.vecdot(x, self.A @ x) - xp.vecdot(self.b, x))

    def grad(self, x: Any) -> Any:
        return self.A @ x - self.b

    def hvp(self, x: Any, v: Any) -> Any:
        return self.A @ v

    def third(self, x: Any, u: Any, v: Any) -> Any:
        return array_namespace(self.A).zeros_like(self.b)


def spd_quadratic(spectrum: Sequence[float], rng: np.random.Generator, *, xp: ModuleType | None = None,
                  dtype: Any = "float64") -> SPDQuadratic:
    r""":math:`A = Q\operatorname{diag}(\lambda)Q^\top` with Haar-random Q and a standard normal b.

    Parameters
    ----------
    spectrum : sequence of float
        The eigenvalues, each > 0.
    rng : numpy.random.Generator
        Draws Q (QR of a Gaussian matrix, signs fixed by R's diagonal, which makes Q Haar) and then b.
    xp, dtype
        Namespace (NumPy by default) and dtype of A and b.
    """
    lam = np.asarray([check_positive(s, "spectrum") for s in spectrum], dtype=np.float64)
    if lam.size == 0:
        raise ValueError("spectrum must have at least one eigenvalue, got []")
    q, r = np.linalg.qr(rng.standard_normal((lam.size, lam.size)))
    q = q * np.sign(np.diag(r))
    a = (q * lam) @ q.T
    xp = get_namespace() if xp is None else xp
    dt = resolve_dtype(xp, dtype)
    return SPDQuadratic(xp.asarray((a + a.T) / 2.0, dtype=dt), xp.asarray(rng.standard_normal(lam.size), dtype=dt), np.sort(lam))
