"""Mini-batch gradients without replacement: unbiasedness, the finite-population covariance, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gc_theory.core.backend import to_numpy
from gc_theory.landscape.minibatch import (
    batch_covariance,
    draw_batch,
    enumerated_moments,
    minibatch_gradient,
    per_example_covariance,
)
from gc_theory.problems import logistic_loss
from gc_theory.verify.tolerances import gamma
from gc_theory.testing.strategies import backends, on_backend, seeds


def _gradients(seed: int, n: int, p: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, p)) + rng.standard_normal(p)


def _bound(g: np.ndarray, n: int, b: int, dtype) -> float:
    # Means over K = C(N, B) batches of B-term means, then a K-term product of centred
    # means: gamma_{K+B+N} times the largest product of magnitudes bounds every entry.
    k = math.comb(n, b)
    return gamma(k + b + n, dtype) * 4.0 * float(np.max(np.abs(g))) ** 2


@given(seed=seeds, n=st.integers(1, 9), p=st.integers(1, 4), backend=backends, data=st.data())
def test_enumeration_matches_the_finite_population_formula(seed, n, p, backend, data):
    b = data.draw(st.integers(1, n))
    host = _gradients(seed, n, p)
    g = on_backend(backend, host)
    moments = enumerated_moments(g, b)
    assert moments.batches == math.comb(n, b)
    tol = _bound(host, n, b, np.float64)
    assert np.max(np.abs(to_numpy(moments.mean) - host.mean(axis=0))) <= tol
    assert np.max(np.abs(to_numpy(moments.covariance) - to_numpy(batch_covariance(g, b)))) <= tol


def test_with_replacement_formula_is_wrong_near_full_batch():
    g = _gradients(1, 8, 3)
    exact = enumerated_moments(g, 8).covariance
    assert np.max(np.abs(exact)) <= _bound(g, 8, 8, np.float64)
    assert np.max(np.abs(batch_covariance(g, 8, replacement=True))) > 1e-2


def test_full_batch_and_single_example_cases():
    g = _gradients(2, 5, 2)
    np.testing.assert_array_equal(batch_covariance(g, 5), np.zeros((2, 2)))
    np.testing.assert_allclose(batch_covariance(g, 1), per_example_covariance(g), rtol=1e-15)
    np.testing.assert_allclose(per_example_covariance(g), np.cov(g, rowvar=False, bias=True), rtol=1e-12)


def test_draw_batch_is_distinct_and_reproducible():
    a = draw_batch(20, 7, np.random.default_rng(3))
    b = draw_batch(20, 7, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert len(set(a.tolist())) == 7 and a.min() >= 0 and a.max() < 20


def test_minibatch_gradient_is_the_mean_of_the_chosen_rows(backend):
    host = _gradients(4, 6, 3)
    got = to_numpy(minibatch_gradient(on_backend(backend, host), [0, 2, 5]))
    np.testing.assert_allclose(got, host[[0, 2, 5]].mean(axis=0), rtol=1e-15)


@pytest.mark.parametrize("b", [0, 6, -1])
def test_batch_size_outside_1_to_n_is_refused(b):
    with pytest.raises(ValueError, match="batch_size"):
        batch_covariance(np.ones((5, 2)), b)
    with pytest.raises(ValueError, match="batch_size"):
        draw_batch(5, b, np.random.default_rng(0))


def test_bad_input_names_the_argument():
    with pytest.raises(TypeError, match="batch_size must be an integer"):
        batch_covariance(np.ones((5, 2)), 2.0)
    with pytest.raises(ValueError, match="per_example must be a 2-D"):
        batch_covariance(np.ones(5), 2)
    with pytest.raises(TypeError, match="per_example must have a real floating dtype"):
        per_example_covariance(np.ones((5, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="per_example has 1 non-finite"):
        per_example_covariance(np.array([[1.0, np.nan], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="indices must lie in 0..4"):
        minibatch_gradient(np.ones((5, 2)), [0, 5])
    with pytest.raises(ValueError, match="more than"):
        enumerated_moments(np.ones((40, 1)), 20)
    with pytest.raises(TypeError, match="rng must be"):
        draw_batch(5, 2, 0)


def test_sampled_variance_on_the_digits_matches_the_finite_population_formula():
    pytest.importorskip("sklearn")
    from gc_theory.datasets import load_digits
    from gc_theory.landscape.minibatch import sampled_variance

    digits = load_digits()
    x, labels = digits.train
    y = np.where(np.asarray(labels) == 3, 1.0, -1.0)  # one class against the rest
    g = logistic_loss(x, y).per_example_grads(0.05 * np.random.default_rng(0).standard_normal(x.shape[1]))
    n = g.shape[0]
    for b in (16, n // 2, n - 20):
        est = sampled_variance(g, b, 1500, np.random.default_rng(b))
        exact = float(np.trace(batch_covariance(g, b)))
        assert abs(est.mean - exact) <= 4.0 * est.standard_error  # z = 4: two-sided p ~ 6e-5
    with_replacement = float(np.trace(batch_covariance(g, n - 20, replacement=True)))
    assert abs(est.mean - with_replacement) > 40.0 * est.standard_error


def test_sampled_variance_refuses_bad_draws():
    from gc_theory.landscape.minibatch import sampled_variance

    with pytest.raises(ValueError, match="draws must be >= 2"):
        sampled_variance(np.ones((4, 2)), 2, 1, np.random.default_rng(0))


@pytest.mark.parametrize("id", ["minibatch.covariance.exact", "minibatch.covariance.sampled"])
def test_minibatch_claims_hold_and_their_controls_fail(id, backend):
    from gc_theory.claims import get_claim

    result = get_claim(id).run(backend=backend)
    assert result.ok, result
