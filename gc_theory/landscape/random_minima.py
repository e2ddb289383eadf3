r"""How rare a minimum is: the probability that a random symmetric Gaussian matrix is positive definite.

At a critical point of a random function the Hessian is, in the simplest model,
a GOE matrix :math:`H = (G + G^\top)/2` with i.i.d. standard normal G. Its
eigenvalues have the joint density

.. math::

    p(\lambda) \propto \prod_{i<j} |\lambda_i - \lambda_j|\, e^{-\sum_i \lambda_i^2 / 2}

(up to a scale, which positivity ignores), and the probability that all are
positive, i.e. that the critical point is a minimum, falls like
:math:`e^{-\theta n^2}` with :math:`\theta = \ln 3/4` (Dean and Majumdar, 2006):
faster than the :math:`2^{-n}` of a diagonal matrix with independent entries.
:func:`positive_definite_fraction` samples it; :func:`positive_definite_probability`
integrates the density for small n, an independent computation;
:func:`log_positive_definite_probability` computes it exactly for any n (a
Pfaffian of one-dimensional moments, in multiprecision), and :func:`fit_rate`
reads :math:`\theta` off those values.

The rate's convention: Dean and Majumdar write :math:`P_n \approx e^{-\beta\theta n^2}`
with :math:`\theta = \ln 3/4 \approx 0.2747` and Dyson index :math:`\beta = 1` for the
GOE, for the density :math:`\propto |\Delta(\lambda)|^\beta e^{-\beta\sum\lambda_i^2/2}`
up to a scale. Positivity is scale free, so the variance convention of H does not
matter; what matters is the exponent :math:`n^2` (not :math:`n^2/2` or n(n-1)/2)
and :math:`\beta = 1`.

NumPy (batched ``eigvalsh``; tensor Gauss-Legendre quadrature) and mpmath (the
exact values); no array namespace.

References
----------
.. [1] D. S. Dean and S. N. Majumdar, "Large deviations of extreme eigenvalues of
   random matrices", Phys. Rev. Lett. 97 (2006) 160201.
.. [2] Y. N. Dauphin et al., "Identifying and attacking the saddle point problem
   in high-dimensional non-convex optimization", NeurIPS 2014.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import mpmath
import numpy as np

from gc_theory.core.validation import check_choice, host_vector, check_int

__all__ = [
    "THETA",
    "RateFit",
    "fit_rate",
    "log_positive_definite_probability",
    "positive_definite_fraction",
    "positive_definite_probability",
    "working_digits",
]

#: Dean and Majumdar's large-deviation rate for beta = 1: P_n ~ exp(-THETA n^2).
THETA = math.log(3.0) / 4.0

ENSEMBLES = ("goe", "diagonal")


def positive_definite_fraction(n: int, samples: int, rng: np.random.Generator, *, ensemble: str = "goe") -> float:
    """Fraction of `samples` random n x n matrices (GOE, or diagonal with i.i.d. normal entries) that are positive definite."""
    n = check_int(n, "n", minimum=1)
    samples = check_int(samples, "samples", minimum=1)
    check_choice(ensemble, "ensemble", ENSEMBLES)
    if ensemble == "diagonal":
        return float(np.mean(np.all(rng.standard_normal((samples, n)) > 0, axis=1)))
    g = rng.standard_normal((samples, n, n))
    return float(np.mean(np.linalg.eigvalsh((g + np.swapaxes(g, 1, 2)) / 2.0)[:, 0] > 0))


def positive_definite_probability(n: int, *, points: int = 40, cutoff: float = 9.0) -> float:
    r"""P(GOE n x n is positive definite) by integrating the joint eigenvalue density, n = 1..4.

    Notes
    -----
    On the ordered cone :math:`\lambda_1 < \dots < \lambda_n` the Vandermonde factor
    is a polynomial; with :math:`\lambda_1 = a`, :math:`\lambda_{k+1} = \lambda_k + b_k`
    (Jacobian 1) the probability is the ratio of the integral over
    :math:`a > 0, b \ge 0` to that over :math:`a \in \mathbb R, b \ge 0`. The
    integrand is smooth there, so tensor Gauss-Legendre quadrature on a box
    truncated at `cutoff` (where the Gaussian is below :math:`e^{-40}`)
    converges fast; the GOE scale :math:`e^{-\lambda^2/2}` matches
    :math:`(G + G^\top)/2` up to a factor that positivity ignores.
    """
    n = check_int(n, "n", minimum=1, maximum=4)
    nodes, weights = np.polynomial.legendre.leggauss(points)

    def integral(a_low: float) -> float:
        a = (nodes + 1.0) * (cutoff - a_low) / 2.0 + a_low
        wa = weights * (cutoff - a_low) / 2.0
        b = (nodes + 1.0) * cutoff / 2.0
        wb = weights * cutoff / 2.0
        grids = np.meshgrid(a, *([b] * (n - 1)), indexing="ij")
        w = np.prod(np.meshgrid(wa, *([wb] * (n - 1)), indexing="ij"), axis=0)
        lam = np.cumsum(np.stack(grids), axis=0)
        vandermonde = np.ones_like(w)
        for i, j in itertools.combinations(range(n), 2):
            vandermonde *= lam[j] - lam[i]
        return float(np.sum(w * vandermonde * np.exp(-0.5 * np.sum(lam**2, axis=0))))

    return integral(0.0) / integral(-cutoff)


def _half_moment(k: int) -> Any:
    r""":math:`\int_0^\infty y^k e^{-y^2/2}\,dy = 2^{(k-1)/2}\,\Gamma((k+1)/2)` (mpmath)."""
    return mpmath.power(2, mpmath.mpf(k - 1) / 2) * mpmath.gamma(mpmath.mpf(k + 1) / 2)


def _gauss_moment(k: int) -> Any:
    r""":math:`\int_0^\infty x^k e^{-x^2}\,dx = \Gamma((k+1)/2)/2` (mpmath)."""
    return mpmath.gamma(mpmath.mpf(k + 1) / 2) / 2


def working_digits(n: int) -> int:
    """Decimal digits :func:`log_positive_definite_probability` works with: twice the ~n the determinant cancels, plus 30."""
    return 30 + 2 * n


def log_positive_definite_probability(n: int, *, digits: int | None = None) -> float:
    r""":math:`\log P(\text{an } n \times n \text{ GOE matrix is positive definite})`, exact up to rounding, any n.

    Parameters
    ----------
    n : int
        Matrix size, >= 1 (n = 24 takes ~0.02 s, n = 48 ~0.2 s).
    digits : int, optional
        Decimal working precision of mpmath; :func:`working_digits` by default.

    Returns
    -------
    float
        :math:`\log P_n`; :math:`P_1 = 1/2`, :math:`P_2 = (2 - \sqrt2)/4`.

    Notes
    -----
    De Bruijn's identity turns the n-fold integral of the ordered joint density
    over :math:`0 < \lambda_1 < \dots < \lambda_n` into a Pfaffian,

    .. math::

        Z_+ = \int_{0<\lambda_1<\dots<\lambda_n} \det[\lambda_j^{i}]\prod_i e^{-\lambda_i^2/2}
            = \operatorname{Pf} A, \qquad
        A_{jk} = \iint_{(0,\infty)^2} \operatorname{sgn}(y - x)\, x^j y^k e^{-(x^2+y^2)/2}\,dx\,dy,

    with A bordered by the moments :math:`m_j = \int_0^\infty x^j e^{-x^2/2}dx` when
    n is odd. Writing :math:`A_{jk} = m_j m_k - 2B_{jk}`,
    :math:`B_{jk} = \int_0^\infty x^j e^{-x^2/2} G_k(x)\,dx`,
    :math:`G_k(x) = \int_0^x y^k e^{-y^2/2}dy`, integration by parts gives the
    exact recurrences :math:`B_{jk} = (k-1)B_{j,k-2} - \int_0^\infty x^{j+k-1}e^{-x^2}dx`,
    :math:`B_{j1} = m_j - \int_0^\infty x^j e^{-x^2}dx`, :math:`B_{00} = m_0^2/2`,
    :math:`B_{10} = \sqrt\pi/2`, :math:`B_{j0} = (j-1)B_{j-2,0} + \int_0^\infty x^{j-1}e^{-x^2}dx`.
    Since :math:`Z_+ > 0`, :math:`Z_+ = \sqrt{\det A}`. The whole-line integral is
    Mehta's closed form, :math:`Z = \frac{(2\pi)^{n/2}}{n!}\prod_{j=1}^n \Gamma(1 + j/2)/\Gamma(3/2)`,
    and :math:`P_n = Z_+/Z`. The monomial basis makes A badly conditioned: its
    determinant cancels about n decimal digits (measured: 50 digits give
    float64 accuracy at n = 32, 65 at n = 48), hence the multiprecision;
    the tests check that doubling :func:`working_digits` changes nothing.

    mpmath only (no array namespace): a scalar computation.

    References
    ----------
    .. [1] N. G. de Bruijn, "On some multiple integrals involving determinants",
       J. Indian Math. Soc. 19 (1955) 133-151.
    .. [2] M. L. Mehta, *Random Matrices*, 3rd ed., Elsevier, 2004, Eq. (17.6.7).
    """
    n = check_int(n, "n", minimum=1)
    digits = working_digits(n) if digits is None else check_int(digits, "digits", minimum=15)
    with mpmath.workdps(digits):
        m = [_half_moment(k) for k in range(n)]
        e = [_gauss_moment(k) for k in range(2 * n)]
        b0 = [m[0] ** 2 / 2, e[0]]
        for j in range(2, n):
            b0.append((j - 1) * b0[j - 2] + e[j - 1])
        size = n + n % 2
        a = mpmath.matrix(size, size)
        for j in range(n):
            row = [b0[j], m[j] - e[j]]
            for k in range(2, n):
                row.append((k - 1) * row[k - 2] - e[j + k - 1])
            for k in range(n):
                a[j, k] = m[j] * m[k] - 2 * row[k]
            if n % 2:
                a[j, n], a[n, j] = m[j], -m[j]
        det = mpmath.det(a)
        if det <= 0:  # the exact value is a positive square; a non-positive one is all cancellation
            raise ValueError(f"digits must be larger for n = {n}: with {digits} digits det A came out "
                             f"{mpmath.nstr(det, 3)}, not > 0")
        log_z_plus = mpmath.log(det) / 2
        gammas = mpmath.fsum(mpmath.loggamma(1 + mpmath.mpf(j) / 2) for j in range(1, n + 1))
        log_z = n * mpmath.log(2 * mpmath.pi) / 2 - mpmath.loggamma(n + 1) + gammas - n * mpmath.loggamma(1.5)
        return float(log_z_plus - log_z)


class RateFit(NamedTuple):
    r"""Least-squares fit :math:`\log P_n = -\theta n^2 + c_1 n + c_2\log n + c_0` (plain floats)."""

    theta: float
    c1: float
    c2: float
    c0: float
    rounding: float


def fit_rate(ns: Sequence[int], log_p: Sequence[float]) -> RateFit:
    r"""Fit :math:`\log P_n = -\theta n^2 + c_1 n + c_2 \log n + c_0` to values at sizes `ns` (at least 4).

    Notes
    -----
    The large-deviation form of :math:`\log P_n` (Dean and Majumdar) has an
    :math:`n^2` term, and finite-n corrections of order n, :math:`\log n` and 1,
    then :math:`O(1/n)`; the fit keeps the first four, so its :math:`\theta` is
    off by the omitted :math:`O(1/n)` terms, which shrink as the window of n
    moves out. ``rounding`` bounds how much a relative error u in each
    :math:`\log P_n` moves :math:`\theta`: :math:`u\sum_i |(X^+)_{0i}|\,|\log P_{n_i}|`.
    """
    ns = np.asarray(ns, dtype=np.float64)
    log_p = host_vector(log_p, "log_p")
    if ns.ndim != 1 or ns.size < 4 or ns.size != log_p.size:
        raise ValueError(f"ns must be a 1-D sequence of at least 4 sizes matching log_p, "
                         f"got {ns.size} sizes and {log_p.size} values")
    design = np.stack([-ns**2, ns, np.log(ns), np.ones_like(ns)], axis=1)
    pinv = np.linalg.pinv(design)
    theta, c1, c2, c0 = (float(c) for c in pinv @ log_p)
    rounding = float(np.finfo(np.float64).eps / 2 * np.abs(pinv[0]) @ np.abs(log_p))
    return RateFit(theta, c1, c2, c0, rounding)
