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
integrates the density for small n, an independent computation.

NumPy only (batched ``eigvalsh``; tensor Gauss-Legendre quadrature).

References
----------
.. [1] D. S. Dean and S. N. Majumdar, "Large deviations of extreme eigenvalues of
   random matrices", Phys. Rev. Lett. 97 (2006) 160201.
.. [2] Y. N. Dauphin et al., "Identifying and attacking the saddle point problem
   in high-dimensional non-convex optimization", NeurIPS 2014.
"""

from __future__ import annotations

import itertools

import numpy as np

from ._validation import check_choice, check_int

__all__ = ["positive_definite_fraction", "positive_definite_probability"]

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
