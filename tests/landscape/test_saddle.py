"""Saddles: exact escape times, the stable manifold, noisy escape; bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gc_theory.claims import get_claim
from gc_theory.landscape.saddle import escape_step, noisy_escape_steps, predicted_escape_step


@given(exponent=st.floats(0.5, 12.0), h_lambda=st.floats(0.05, 1.5))
def test_escape_step_matches_the_formula_away_from_integer_boundaries(exponent, h_lambda):
    delta = 10.0**-exponent
    exact = math.log(1.0 / delta) / math.log1p(h_lambda)
    # Within ~1e-9 of an integer the rounding of (1 + h|lambda|)^k decides the step; the formula holds elsewhere.
    if abs(exact - round(exact)) < 1e-9:
        return
    lam = np.array([2.0, -h_lambda])
    assert escape_step(lam, np.array([1.0, delta]), 1.0, 1.0) == predicted_escape_step(delta, 1.0, 1.0, -h_lambda)


def test_stable_manifold_converges_to_the_saddle():
    lam = np.array([0.8, -0.3])
    assert escape_step(lam, np.array([0.9, 0.0]), 0.5, 1.0, max_steps=500) == 501


def test_noisy_escape_reports_stuck_runs():
    lam = np.array([1.0, -1.0])
    times = noisy_escape_steps(lam, 0.0, 1.0, 1.0, 4, np.random.default_rng(0), max_steps=10)
    assert times.stuck == 4 and math.isinf(times.mean)
    fast = noisy_escape_steps(lam, 1e-3, 1.0, 1.0, 50, np.random.default_rng(0))
    assert fast.stuck == 0 and 5 < fast.mean < 15


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="eigenvalues must include a negative one"):
        escape_step(np.array([1.0, 2.0]), np.ones(2), 0.1, 1.0)
    with pytest.raises(ValueError, match="x0 must have the shape of eigenvalues"):
        escape_step(np.array([1.0, -2.0]), np.ones(3), 0.1, 1.0)
    with pytest.raises(ValueError, match="delta must be"):
        predicted_escape_step(0.0, 1.0, 0.1, -1.0)
    with pytest.raises(ValueError, match="lambda_min must be negative"):
        predicted_escape_step(0.1, 1.0, 0.1, 1.0)
    with pytest.raises(ValueError, match="sigma must be"):
        noisy_escape_steps(np.array([1.0, -1.0]), -1.0, 0.1, 1.0, 4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="runs must be >= 2"):
        noisy_escape_steps(np.array([1.0, -1.0]), 0.1, 0.1, 1.0, 1, np.random.default_rng(0))


@pytest.mark.parametrize("id", ["saddle.escape.exact", "saddle.escape.noisy"])
def test_saddle_claims_hold_and_their_controls_fail(id, backend):
    result = get_claim(id).run(backend=backend)
    assert result.ok, result


def test_plateau_steps_scale_as_one_over_s_for_sgd_and_not_for_adam():
    from gc_theory import optim
    from gc_theory.landscape.saddle import steps_to_cross_plateau

    sgd = [steps_to_cross_plateau(optim.SGD(lr=1.0), s, 1.0) for s in (1e-1, 1e-2, 1e-3)]
    # ceil(W/(lr s)), give or take the one step that the rounding of the running sum can add.
    assert all(abs(n - math.ceil(1.0 / s)) <= 1 for n, s in zip(sgd, (1e-1, 1e-2, 1e-3)))
    adam = [steps_to_cross_plateau(optim.Adam(lr=0.05), s, 1.0) for s in (1e-1, 1e-3, 1e-5)]
    assert max(adam) - min(adam) <= 1
    with pytest.raises(TypeError, match="optimizer must be"):
        steps_to_cross_plateau(None, 1e-2, 1.0)
    with pytest.raises(ValueError, match="scale must be"):
        steps_to_cross_plateau(optim.SGD(lr=1.0), 0.0, 1.0)


def test_plateau_claim_holds_and_its_control_fails(backend):
    assert get_claim("saddle.plateau.adaptive").run(backend=backend).ok


def test_goe_integral_matches_the_closed_form_and_the_diagonal_case_is_2_to_the_minus_n():
    from gc_theory.landscape.random_minima import positive_definite_fraction, positive_definite_probability

    assert positive_definite_probability(1) == pytest.approx(0.5, abs=1e-12)
    assert positive_definite_probability(2) == pytest.approx(0.5 - 1 / (2 * math.sqrt(2)), abs=1e-9)
    assert positive_definite_probability(3) < positive_definite_probability(2) ** 1.5  # faster than exponential
    frac = positive_definite_fraction(3, 40_000, np.random.default_rng(7), ensemble="diagonal")
    assert abs(frac - 0.125) <= 4 * math.sqrt(0.125 * 0.875 / 40_000)
    with pytest.raises(ValueError, match="n must be <= 4"):
        positive_definite_probability(5)
    with pytest.raises(ValueError, match="ensemble must be one of"):
        positive_definite_fraction(2, 10, np.random.default_rng(0), ensemble="gue")


def test_goe_claim_holds_and_its_control_fails():
    assert get_claim("saddle.goe.positive_definite").run().ok


def test_exact_goe_probability_matches_the_integral_the_closed_form_and_sampling():
    from gc_theory.landscape.random_minima import log_positive_definite_probability, positive_definite_fraction, positive_definite_probability

    assert math.exp(log_positive_definite_probability(1)) == pytest.approx(0.5, rel=1e-15)
    assert math.exp(log_positive_definite_probability(2)) == pytest.approx((2 - math.sqrt(2)) / 4, rel=1e-14)
    for n in (3, 4):  # quadrature's own error is ~1e-10 here
        assert math.exp(log_positive_definite_probability(n)) == pytest.approx(positive_definite_probability(n), rel=1e-7)
    # n = 5 lies beyond the quadrature: sampling, within 4 binomial standard errors.
    p5, samples = math.exp(log_positive_definite_probability(5)), 200_000
    frac = positive_definite_fraction(5, samples, np.random.default_rng(3))
    assert abs(frac - p5) <= 4 * math.sqrt(p5 * (1 - p5) / samples)


@pytest.mark.parametrize("n", [7, 24, 40])
def test_exact_goe_probability_does_not_move_with_more_digits(n):
    from gc_theory.landscape.random_minima import log_positive_definite_probability, working_digits

    value = log_positive_definite_probability(n)
    assert value == log_positive_definite_probability(n, digits=2 * working_digits(n))
    with pytest.raises(ValueError, match="digits must be larger"):
        log_positive_definite_probability(40, digits=20)


def test_rate_fit_recovers_exact_coefficients_and_rejects_bad_input():
    from gc_theory.landscape.random_minima import fit_rate

    ns = np.arange(3, 20)
    fit = fit_rate(ns, -0.3 * ns**2 + 0.5 * ns - 0.04 * np.log(ns) + 1.0)
    assert (fit.theta, fit.c1, fit.c2, fit.c0) == pytest.approx((0.3, 0.5, -0.04, 1.0), rel=1e-10)
    assert 0 < fit.rounding < 1e-12
    with pytest.raises(ValueError, match="at least 4 sizes"):
        fit_rate([1, 2, 3], [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="log_p must be finite"):
        fit_rate([1, 2, 3, 4], [0.0, 0.0, float("nan"), 0.0])


def test_goe_rate_claim_holds_and_its_control_fails():
    result = get_claim("saddle.goe.rate").run()
    assert result.ok, result
