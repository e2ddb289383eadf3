"""Adam's modified field, descent to rest, and the expected loss under parameter noise (gc_theory.igr)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from gc_theory.testing.strategies import seeds

from gc_theory.verify.order_fit import fit_order, geometric_ladder
from gc_theory.igr import (
    adam_descent,
    descend_to_rest,
    dense_lambda_max,
    fixed_time_errors,
    gaussian_loss_increase,
    modified_field,
)
from gc_theory.problems import Quadratic, Quartic, TwoParameter

QUARTIC = Quartic([0.5, 1.0, 2.0], c=1.0, seed=1)
THETA = np.array([0.5, -0.4, 0.6])


def test_adam_field_at_large_eps_is_momentum_gd_with_step_h_over_sqrt_eps():
    # With eps >> g^2, Adam is an averaged momentum GD with step h/sqrt(eps), whose modified flow is heavy
    # ball's, (1+beta)/(2(1-beta)) = beta/(1-beta) + 1/2: the eps part of Adam's correction must reduce to it.
    eps, h, beta = 1e8, 0.3, 0.5
    adam = modified_field(QUARTIC, h, method="adam", beta=beta, rho=0.9, eps=eps)(THETA)
    g = QUARTIC.grad(THETA)
    heavy_ball = -(g + (1 + beta) / (2 * (1 - beta)) * h / np.sqrt(eps) * QUARTIC.hvp(THETA, g)) / np.sqrt(eps)
    np.testing.assert_allclose(adam, heavy_ball, rtol=1e-6)


def test_adam_order_zero_is_the_preconditioned_flow():
    g = QUARTIC.grad(THETA)
    field = modified_field(QUARTIC, 0.01, method="rmsprop", order=0, rho=0.9, eps=0.01)
    np.testing.assert_allclose(field(THETA), -g / np.sqrt(g * g + 0.01), rtol=1e-15)


@given(seed=seeds, beta=st.floats(0.0, 0.95), rho=st.floats(0.0, 0.95))
def test_the_correction_is_a_preconditioned_one_norm_gradient(seed, beta, rho):
    theta = np.random.default_rng(seed).uniform(-0.6, 0.6, 3)
    eps, h = 1e-2, 1e-3
    g = QUARTIC.grad(theta)
    s = np.sqrt(g * g + eps)
    correction = (modified_field(QUARTIC, h, method="adam", beta=beta, rho=rho, eps=eps)(theta) + g / s) / h
    grad_one_norm = QUARTIC.hvp(theta, g / s)
    b, r = beta / (1 - beta), rho / (1 - rho)
    expected = -grad_one_norm * ((b - r) * g * g + (b + 0.5) * eps) / s**3
    np.testing.assert_allclose(correction, expected, rtol=1e-9, atol=1e-12 * np.max(np.abs(expected)))


def test_adam_descent_first_steps_by_hand():
    path = adam_descent(QUARTIC, THETA, 0.1, 2, beta=0.5, rho=0.75, eps=0.01, warm=False)
    g0 = QUARTIC.grad(THETA)
    m, v = 0.5 * g0, 0.25 * g0 * g0
    np.testing.assert_allclose(path[1], THETA - 0.1 * m / np.sqrt(v + 0.01), rtol=1e-15)
    g1 = QUARTIC.grad(path[1])
    m, v = 0.5 * m + 0.5 * g1, 0.75 * v + 0.25 * g1 * g1
    np.testing.assert_allclose(path[2], path[1] - 0.1 * m / np.sqrt(v + 0.01), rtol=1e-15)


def test_rmsprop_modified_flow_has_global_order_two():
    lam = dense_lambda_max(QUARTIC, THETA)
    steps = geometric_ladder(0.05 / lam, 5)

    def run(theta, h, n):
        return adam_descent(QUARTIC, theta, h, n, beta=0.0, rho=0.75, eps=0.01)[-1]

    fits = {}
    for order in (0, 1):
        errors, floors = fixed_time_errors(run, lambda h, order=order: modified_field(
            QUARTIC, h, method="rmsprop", order=order, rho=0.75, eps=0.01, lambda_max=lam), THETA, steps, 8)
        fits[order] = fit_order(steps, errors, rounding_floor=floors).order
    assert abs(fits[1] - 2.0) < 0.05 and abs(fits[0] - 1.0) < 0.05, fits


@pytest.mark.parametrize(("call", "match"), [
    (lambda: modified_field(QUARTIC, 0.1, method="rmsprop", beta=0.5), "beta must be 0 for method='rmsprop'"),
    (lambda: modified_field(QUARTIC, 0.1, method="adam", rho=1.0), "rho must"),
    (lambda: modified_field(QUARTIC, 0.1, method="adam", eps=0.0), "eps must"),
    (lambda: modified_field(QUARTIC, 0.1, method="adam", order=2), "order must be <= 1"),
    (lambda: adam_descent(QUARTIC, THETA, 0.1, 3, beta=0.5, rho=-0.1, eps=1e-8), "rho must"),
    (lambda: descend_to_rest(QUARTIC, THETA, 0.0), "h must"),
    (lambda: descend_to_rest(QUARTIC, THETA, 0.1, gtol=-1.0), "gtol must"),
    (lambda: gaussian_loss_increase(QUARTIC, THETA, 0.0), "sigma must"),
    (lambda: gaussian_loss_increase(QUARTIC, np.zeros(8), 0.1, nodes=10), "nodes must keep"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_descend_to_rest_stops_at_the_tolerance_and_on_divergence():
    quadratic = Quadratic((0.5, 2.0), seed=3)
    rest = descend_to_rest(quadratic, [1.0, -1.0], 0.5, gtol=1e-12)
    assert rest.converged and rest.grad_norm <= 1e-12 and 0 < rest.steps
    assert np.linalg.norm(quadratic.grad(rest.theta)) == rest.grad_norm
    unstable = descend_to_rest(quadratic, [1.0, -1.0], 1.01, max_steps=50)
    assert not unstable.converged and unstable.steps == 50 and unstable.grad_norm > 1.0


@given(seed=seeds, sigma=st.floats(0.01, 2.0))
def test_gaussian_loss_increase_of_a_quadratic_is_half_sigma_squared_trace(seed, sigma):
    # On a quadratic the expansion stops at sigma^2: E L(theta + sigma xi) - L = (sigma^2/2) tr A exactly.
    quadratic = Quadratic((0.3, 1.0, 2.5), seed=seed % 1000)
    theta = np.random.default_rng(seed).standard_normal(3)
    measured = gaussian_loss_increase(quadratic, theta, sigma, nodes=2)
    expected = 0.5 * sigma**2 * float(np.sum(quadratic.spectrum))
    assert abs(measured - expected) <= 1e-13 * (expected + quadratic.value(theta))


def test_gaussian_loss_increase_matches_monte_carlo():
    # An oracle nobody here wrote the rule of: plain sampling, within 6 standard errors.
    problem = TwoParameter(x=1.3, y=0.8)
    theta, sigma = np.array([0.9, 0.4]), 0.3
    xi = np.random.default_rng(0).standard_normal((200_000, 2))
    a, b = theta[0] + sigma * xi[:, 0], theta[1] + sigma * xi[:, 1]
    samples = 0.5 * (problem.y - a * b * problem.x) ** 2 - problem.value(theta)
    stderr = samples.std() / np.sqrt(samples.size)
    assert abs(samples.mean() - gaussian_loss_increase(problem, theta, sigma, nodes=3)) <= 6 * stderr


def test_above_the_catapult_threshold_the_final_sharpness_is_not_monotone():
    problem = TwoParameter(x=1.0, y=1.0)
    theta0 = np.array([2.8, 3.5])
    s0 = problem.sharpness(theta0)
    final = [problem.sharpness(descend_to_rest(problem, theta0, 2 * f / s0).theta) for f in (0.5, 0.95, 1.5, 2.0)]
    assert final[0] > final[1] > final[2] and final[3] > final[2] + 0.5, final
