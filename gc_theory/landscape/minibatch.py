r"""Mini-batch gradients drawn without replacement, and their covariance.

A full-batch gradient is the mean of N per-example gradients :math:`g_i`
(the rows of ``per_example``). A mini-batch gradient is the mean over a batch
of B distinct examples drawn uniformly without replacement. It is unbiased,
and its covariance is the finite-population formula

.. math::

    \operatorname{Cov}\bigl[\hat g_B\bigr] = \frac{\Sigma}{B}\,\frac{N - B}{N - 1},
    \qquad
    \Sigma = \frac{1}{N}\sum_{i=1}^{N} (g_i - \bar g)(g_i - \bar g)^\top ,

which vanishes at B = N, unlike the with-replacement formula
:math:`\Sigma/B`. :func:`enumerated_moments` computes both moments exactly by
visiting every one of the :math:`\binom{N}{B}` batches, so the identity can be
checked to rounding for small N.

Every function takes ``per_example`` of any array-API namespace and returns
arrays of that namespace; batch indices come from a seeded NumPy generator.

References
----------
.. [1] W. G. Cochran, *Sampling Techniques*, 3rd ed., Wiley, 1977, Thm. 2.2.
.. [2] S. L. Smith, B. Dherin, D. G. T. Barrett and S. De, "On the origin of
   implicit regularization in stochastic gradient descent", ICLR 2021, Sec. 2.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, NamedTuple

import numpy as np

from gc_theory.core.validation import check_bool, check_finite_floating, check_int
from gc_theory.core.backend import to_numpy

__all__ = [
    "BatchMoments",
    "SampledVariance",
    "batch_covariance",
    "draw_batch",
    "enumerated_moments",
    "minibatch_gradient",
    "per_example_covariance",
    "sampled_variance",
]

#: Exact enumeration refuses more batches than this: it is meant for small N.
MAX_ENUMERATED_BATCHES = 200_000


class SampledVariance(NamedTuple):
    r"""Monte Carlo estimate of :math:`E\lVert \hat g_B - \bar g\rVert^2` and its standard error."""

    mean: float
    standard_error: float
    draws: int


class BatchMoments(NamedTuple):
    """Mean and covariance of the mini-batch gradient over all batches of one size."""

    mean: Any
    covariance: Any
    batches: int


def _per_example(per_example: Any) -> tuple[Any, int]:
    xp = check_finite_floating(per_example, "per_example")
    if per_example.ndim != 2 or per_example.shape[0] < 1:
        raise ValueError(
            f"per_example must be a 2-D array (examples, parameters) with at least one row, got shape {tuple(per_example.shape)}"
        )
    return xp, int(per_example.shape[0])


def _batch_size(batch_size: Any, n: int) -> int:
    return check_int(batch_size, "batch_size", minimum=1, maximum=n)


def draw_batch(n: int, batch_size: int, rng: np.random.Generator) -> np.ndarray:
    """B distinct indices out of ``range(n)``, uniformly (host integers, sorted)."""
    n = check_int(n, "n", minimum=1)
    batch_size = _batch_size(batch_size, n)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return np.sort(rng.choice(n, size=batch_size, replace=False))


def minibatch_gradient(per_example: Any, indices: Any) -> Any:
    """The mean of the rows of `per_example` picked by `indices` (a 1-D integer sequence)."""
    xp, n = _per_example(per_example)
    idx = np.asarray(indices)
    if idx.ndim != 1 or idx.size < 1 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"indices must be a non-empty 1-D sequence of integers, got {indices!r}")
    if idx.min() < 0 or idx.max() >= n:
        raise ValueError(f"indices must lie in 0..{n - 1}, got values from {idx.min()} to {idx.max()}")
    rows = xp.take(per_example, xp.asarray(idx, dtype=xp.int64), axis=0)
    return xp.mean(rows, axis=0)


def per_example_covariance(per_example: Any) -> Any:
    r"""The population covariance :math:`\Sigma` of the per-example gradients (divides by N)."""
    xp, n = _per_example(per_example)
    centred = per_example - xp.mean(per_example, axis=0)
    return (xp.matrix_transpose(centred) @ centred) / n


def batch_covariance(per_example: Any, batch_size: int, *, replacement: bool = False) -> Any:
    r"""Covariance of the mini-batch gradient of size B, from the formula.

    Parameters
    ----------
    per_example : array, shape (N, P)
        Per-example gradients, one row each.
    batch_size : int
        B, in 1..N.
    replacement : bool
        False (default): batches of distinct examples, the finite-population
        formula. True: examples drawn with replacement, :math:`\Sigma/B`.

    Returns
    -------
    array, shape (P, P)

    Notes
    -----
    .. math::

        \operatorname{Cov}\bigl[\hat g_B\bigr] =
        \begin{cases}
        \dfrac{\Sigma}{B}\dfrac{N-B}{N-1} & \text{without replacement,}\\[1ex]
        \dfrac{\Sigma}{B} & \text{with replacement.}
        \end{cases}

    For N = 1 both are zero (one example, one batch).
    """
    _, n = _per_example(per_example)
    batch_size = _batch_size(batch_size, n)
    replacement = check_bool(replacement, "replacement")
    sigma = per_example_covariance(per_example)
    if replacement:
        return sigma / batch_size
    finite_population = (n - batch_size) / (n - 1) if n > 1 else 0.0
    return sigma * (finite_population / batch_size)


def enumerated_moments(per_example: Any, batch_size: int) -> BatchMoments:
    r"""Mean and covariance of the mini-batch gradient over every batch of size B, exactly.

    Each of the :math:`K = \binom{N}{B}` batches is equally likely, so the
    moments are plain averages over them. The batches form a (K, N) selection
    matrix S with entries 1/B, so the K batch gradients are :math:`S G` and the
    whole computation is two matrix products.

    Raises
    ------
    ValueError
        If :math:`\binom{N}{B}` exceeds ``MAX_ENUMERATED_BATCHES``.

    Notes
    -----
    The result is exact up to the rounding of a K-term mean and of B-term
    batch means: entrywise within about :math:`\gamma_{K+B}` times the scale
    of :math:`|G|` products, which is what the claims hold it to.
    """
    xp, n = _per_example(per_example)
    batch_size = _batch_size(batch_size, n)
    count = math.comb(n, batch_size)
    if count > MAX_ENUMERATED_BATCHES:
        raise ValueError(
            f"batch_size={batch_size} with N={n} gives {count} batches, more than the "
            f"{MAX_ENUMERATED_BATCHES} exact enumeration allows; use batch_covariance or sample batches"
        )
    selection = np.zeros((count, n))
    for row, batch in enumerate(itertools.combinations(range(n), batch_size)):
        selection[row, list(batch)] = 1.0 / batch_size
    device = getattr(per_example, "device", None)
    s = xp.asarray(selection, dtype=per_example.dtype, device=device)
    means = s @ per_example
    mean = xp.mean(means, axis=0)
    centred = means - mean
    return BatchMoments(mean, (xp.matrix_transpose(centred) @ centred) / count, count)


def sampled_variance(per_example: Any, batch_size: int, draws: int, rng: np.random.Generator) -> SampledVariance:
    r"""Estimate the total variance :math:`E\lVert \hat g_B - \bar g\rVert^2` from `draws` random batches.

    Notes
    -----
    With the full-batch mean :math:`\bar g` known exactly, each draw's
    :math:`s_r = \lVert \hat g_B^{(r)} - \bar g\rVert^2` is an unbiased sample of
    :math:`\operatorname{tr}\operatorname{Cov}[\hat g_B]`; the estimate is their
    mean and its standard error is :math:`\mathrm{sd}(s)/\sqrt{R}`. By the
    central limit theorem the estimate lies within :math:`z` standard errors of
    the truth with probability about :math:`1 - 2\Phi(-z)`.
    """
    xp, n = _per_example(per_example)
    batch_size = _batch_size(batch_size, n)
    draws = check_int(draws, "draws", minimum=2)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    # One uniformly random permutation per draw; its first B entries are a uniform batch.
    batches = rng.permuted(np.tile(np.arange(n), (draws, 1)), axis=1)[:, :batch_size]
    rows = xp.take(per_example, xp.asarray(batches.reshape(-1), dtype=xp.int64), axis=0)
    means = xp.mean(xp.reshape(rows, (draws, batch_size, per_example.shape[1])), axis=1)
    gaps = means - xp.mean(per_example, axis=0)
    samples = to_numpy(xp.sum(gaps * gaps, axis=1)).astype(np.float64)  # R floats for a report
    return SampledVariance(float(samples.mean()), float(samples.std(ddof=1) / np.sqrt(draws)), draws)
