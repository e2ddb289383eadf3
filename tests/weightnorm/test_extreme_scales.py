"""Weight standardisation's moments at extreme scales and on near-constant units.

Each result is compared with a 50-digit reference (mpmath) at scales from 1e-300
to 1e308 and on near-constant units, where squaring before scaling over- or
underflows and a one-pass mean leaves a rounding error that the spread of a
near-constant unit magnifies. The tolerance is a few hundred units of float64
rounding: the scaled two-pass moments carry a relative error of order
:math:`\\gamma_{M}` per entry (M entries per unit) before the final division.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from gc_theory.weightnorm import (
    weight_standardization,
    weight_standardization_backward,
)

EPS = float(np.finfo(np.float64).eps)
RTOL = 200 * EPS
SCALES = [1e-300, 1e-160, 1e200, 1e300, 1e308]


def _base() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform(-1.0, 1.0, size=(3, 7))


def _near_constant() -> np.ndarray:
    rng = np.random.default_rng(1)
    return 1.0 + 1e-9 * rng.standard_normal((3, 7))


def _exact_standardize_rows(w: np.ndarray, eps: float = 0.0) -> np.ndarray:
    """(w - mean)/sqrt(var + eps) per row, in 50 digits, rounded once to float64."""
    out = np.empty_like(w)
    with mpmath.workdps(50):
        for i, row in enumerate(w):
            xs = [mpmath.mpf(float(x)) for x in row]
            mu = mpmath.fsum(xs) / len(xs)
            var = mpmath.fsum((x - mu) ** 2 for x in xs) / len(xs)
            sd = mpmath.sqrt(var + mpmath.mpf(eps))
            out[i] = [float((x - mu) / sd) for x in xs]
    return out


def _exact_mean_rows(w: np.ndarray) -> np.ndarray:
    with mpmath.workdps(50):
        return np.array([float(mpmath.fsum(mpmath.mpf(float(x)) for x in row) / len(row)) for row in w])


def _close(got: np.ndarray, want: np.ndarray, rtol: float = RTOL) -> None:
    assert np.all(np.isfinite(got)), got
    scale = np.max(np.abs(want))
    np.testing.assert_allclose(got, want, rtol=0, atol=rtol * scale)


@pytest.mark.parametrize("scale", SCALES)
def test_weight_standardization_at_extreme_scales(scale: float) -> None:
    w = _base() * scale
    _close(weight_standardization(w), _exact_standardize_rows(w))


def test_weight_standardization_of_a_near_constant_unit() -> None:
    w = _near_constant()
    _close(weight_standardization(w), _exact_standardize_rows(w))


@pytest.mark.parametrize("scale", [1e-300, 1e300, 1e308])
def test_weight_standardization_backward_at_extreme_scales(scale: float) -> None:
    w0 = _base()
    grad = np.random.default_rng(2).standard_normal(w0.shape)
    reference = weight_standardization_backward(w0, grad)
    got = weight_standardization_backward(w0 * scale, grad)
    # the backward is homogeneous of degree -1 in w
    _close(got * scale, reference, rtol=1000 * EPS)
