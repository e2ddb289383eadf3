"""Taylor remainders, the descent lemma and GD monotonicity; oracle: numdifftools/numpy for the curvature."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gc_theory.claims import get_claim
from gc_theory.landscape.descent import descent_bound, gradient_descent_losses, smoothness, taylor_remainders
from gc_theory.problems import gaussian_classes, logistic_loss, spd_quadratic
from gc_theory.testing.strategies import seeds, spd_matrices


@given(a=spd_matrices(n=st.integers(2, 8), log10_condition=st.floats(0.0, 3.0)), seed=seeds,
       fraction=st.floats(0.01, 1.0))  # fmt: skip
def test_descent_lemma_holds_on_drawn_spd_quadratics(a, seed, fraction):
    rng = np.random.default_rng(seed)
    b = rng.standard_normal(a.shape[0])
    f = lambda x: 0.5 * x @ a @ x - b @ x  # noqa: E731
    x = rng.standard_normal(a.shape[0])
    g = a @ x - b
    power = smoothness(lambda v: a @ v, rng.standard_normal(a.shape[0]), tol=1e-12)
    lam = np.linalg.eigvalsh(a)
    assert np.min(np.abs(lam - power.eigenvalue)) <= power.error_bound + 1e-14 * lam[-1]
    # A near-double top eigenvalue can exhaust maxiter: the lemma needs L_s >= lambda_max, so use
    # the estimate only when the stopping rule was met.
    assume(power.converged)
    l_s = power.eigenvalue
    assert l_s == pytest.approx(lam[-1], rel=1e-9)
    eta = 2.0 * fraction / l_s
    scale = abs(f(x)) + eta * (g @ g) * (1 + l_s * eta)
    assert f(x - eta * g) <= descent_bound(f(x), g @ g, eta, l_s) + 1e-6 * scale


def test_quadratic_remainder_is_exactly_the_curvature_term():
    q = spd_quadratic([1.0, 4.0], np.random.default_rng(0))
    x, d = np.array([0.3, -0.2]), np.array([0.6, 0.8])
    steps = [1.0, 0.5, 0.25]
    expected = [0.5 * h**2 * d @ q.A @ d for h in steps]
    np.testing.assert_allclose(taylor_remainders(q.value, q.grad(x), x, d, steps), expected, rtol=1e-12)


def test_logistic_gradient_matches_numdifftools():
    nd = pytest.importorskip("numdifftools")
    problem = logistic_loss(*gaussian_classes(30, 3, np.random.default_rng(1)))
    w = np.array([0.2, -0.5, 0.1])
    np.testing.assert_allclose(problem.grad(w), nd.Gradient(problem.value)(w), rtol=1e-8, atol=1e-10)
    # The per-example rows average to the gradient (no ridge here).
    np.testing.assert_allclose(np.mean(problem.per_example_grads(w), axis=0), problem.grad(w), rtol=1e-14)


def test_gradient_descent_losses_beyond_two_over_l_grow():
    a = np.diag([1.0, 10.0])
    f, grad = (lambda x: 0.5 * x @ a @ x), (lambda x: a @ x)
    stable = gradient_descent_losses(f, grad, np.ones(2), 0.19, 30)
    unstable = gradient_descent_losses(f, grad, np.ones(2), 0.21, 30)
    assert np.all(np.diff(stable) <= 0) and unstable[-1] > unstable[0]
    assert all(isinstance(v, float) for v in stable)


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="eta must be"):
        descent_bound(1.0, 1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="smoothness_constant must be"):
        descent_bound(1.0, 1.0, 0.1, -1.0)
    with pytest.raises(ValueError, match="steps must be >= 0"):
        gradient_descent_losses(lambda x: 0.0, lambda x: x, np.ones(2), 0.1, -1)
    with pytest.raises(ValueError, match="x0 has 1 non-finite"):
        gradient_descent_losses(lambda x: 0.0, lambda x: x, np.array([np.nan, 1.0]), 0.1, 1)
    with pytest.raises(TypeError, match="f must be callable"):
        taylor_remainders(1.0, np.ones(2), np.ones(2), np.ones(2), [0.1])


@pytest.mark.parametrize("id", ["descent.taylor.first_order", "descent.lemma", "descent.gd.monotone"])
def test_descent_claims_hold_and_their_controls_fail(id, backend, dtype):
    result = get_claim(id).run(backend=backend, dtype=dtype)
    assert result.ok, result
