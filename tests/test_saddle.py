"""Saddles: exact escape times, the stable manifold, noisy escape; bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gc_theory.claims import get_claim
from gc_theory.saddle import escape_step, noisy_escape_steps, predicted_escape_step


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
    from gc_theory.saddle import steps_to_cross_plateau

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
    from gc_theory.goe import positive_definite_fraction, positive_definite_probability

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
