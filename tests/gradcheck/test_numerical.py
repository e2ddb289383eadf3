"""Numerical derivatives: accuracy against the error model, evaluation counts, backends, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gc_theory.core.backend import finfo_eps, get_namespace, to_numpy
from gc_theory.gradcheck import derivative, numerical_gradient, numerical_jacobian
from gc_theory.gradcheck.stencils import reference_gradient
from gc_theory.gradcheck.error_model import model_error, optimal_step

METHODS = ("forward", "central", "richardson", "complex")


def _problem(xp, dtype, rng, n=6):
    """f(x) = sum(c * exp(x) * sin(x)) and its exact gradient (computed in float64)."""
    x_host = rng.uniform(-1.0, 1.0, n)
    c_host = rng.uniform(0.5, 1.5, n)
    x = xp.asarray(x_host, dtype=getattr(xp, dtype))
    c = xp.asarray(c_host, dtype=getattr(xp, dtype))

    def f(z):
        return xp.sum(c * xp.exp(z) * xp.sin(z))

    exact = c_host * np.exp(x_host) * (np.sin(x_host) + np.cos(x_host))
    return x, f, exact


#: Relative accuracy each method reaches on _problem with its default step (float64), derived from the
#: error model's E(h*) ~ eps^(1/2) (forward), eps^(2/3) (central), eps^(4/5) (Richardson), eps (complex),
#: times 100 for |f|/|f'| and the model's constants.
EXPECTED_ORDER = {"forward": 1 / 2, "central": 2 / 3, "richardson": 4 / 5, "complex": 1.0}


@pytest.mark.parametrize("method", METHODS)
def test_each_method_reaches_its_accuracy_on_every_backend(xp, dtype, rng, method):
    x, f, exact = _problem(xp, dtype, rng)
    result = numerical_gradient(f, x, method, full_output=True)
    assert type(result.value) is type(x) and result.value.dtype == x.dtype and result.value.shape == x.shape
    err = np.max(np.abs(to_numpy(result.value).astype(np.float64) - exact) / np.abs(exact))
    eps = finfo_eps(x.dtype)
    assert err <= 100 * eps ** EXPECTED_ORDER[method], (method, err)


def test_the_error_stays_within_the_models_bound(rng):
    """Central, default step: |error| <= 10 * E(h*) entry by entry (E from the estimated M and noise)."""
    x, f, exact = _problem(get_namespace("numpy"), "float64", rng, n=12)
    result = numerical_gradient(f, x, full_output=True)
    err = np.abs(result.value - exact)
    assert np.all(err <= 10 * to_numpy(result.predicted_error)), (err, result.predicted_error)


@given(
    st.integers(1, 7),
    st.floats(-2.0, 2.0),
    st.floats(0.2, 3.0),
    st.sampled_from(["central", "richardson", "complex"]),
)
def test_property_polynomial_gradients(n, shift, scale, method):
    """f(x) = sum(scale * (x - shift)^3): exact for central on cubics up to the h^2 term; model bound holds."""
    rng = np.random.default_rng(n)
    x = rng.uniform(-1.5, 1.5, n)
    f = lambda z: np.sum(scale * (z - shift) ** 3)  # noqa: E731
    exact = 3 * scale * (x - shift) ** 2
    result = numerical_gradient(f, x, method, full_output=True)
    # Truncation of the central difference on a cubic is exactly f''' h^2/6 = scale h^2; rounding eps_f/h.
    h = to_numpy(result.steps)
    fx = abs(f(x)) + scale * n * (abs(shift) + 1.5) ** 3
    bound = {"central": scale * h**2 + 4 * np.finfo(float).eps * fx / h,
             "richardson": 12 * np.finfo(float).eps * fx / h,
             "complex": 8 * np.finfo(float).eps * np.abs(exact) + 1e-300}[method]  # fmt: skip
    assert np.all(np.abs(result.value - exact) <= bound + 1e-12 * np.abs(exact)), (result.value - exact, bound)


def test_step_formulas_minimise_the_error_model():
    for method in ("forward", "central", "richardson"):
        h = optimal_step(method, 2.0, 1e-16)
        e = model_error(method, h, 2.0, 1e-16)
        assert e <= model_error(method, 1.05 * h, 2.0, 1e-16) and e <= model_error(method, h / 1.05, 2.0, 1e-16)


@pytest.mark.parametrize(("method", "count"), [("forward", lambda n: n + 1), ("central", lambda n: 2 * n),
                                               ("richardson", lambda n: 4 * n), ("complex", lambda n: n)])  # fmt: skip
def test_evaluation_counts_with_an_explicit_step(method, count):
    x = np.linspace(0.1, 1.0, 9)
    calls = []

    def f(z):
        calls.append(1)
        return np.sum(np.sin(z))

    result = numerical_gradient(f, x, method, h=1e-5 if method != "complex" else 1e-20, full_output=True, check_analytic=False)
    assert result.evaluations == len(calls) == count(x.size)


def test_vectorized_matches_the_loop_and_makes_few_calls():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 5))
    A = rng.standard_normal((5, 5))
    f = lambda z: np.sum(np.tanh(z @ A) ** 2)  # noqa: E731
    fv = lambda Z: np.sum(np.tanh(Z @ A) ** 2, axis=(-2, -1))  # noqa: E731
    for method in ("central", "richardson", "forward", "complex"):
        loop = numerical_gradient(f, x, method, full_output=True)
        batch = numerical_gradient(fv, x, method, vectorized=True, batch_size=7, full_output=True)
        np.testing.assert_allclose(batch.value, loop.value, rtol=1e-12, atol=1e-14)
        assert batch.evaluations == loop.evaluations and batch.calls < loop.calls


def test_jacobian_of_a_layer(xp, dtype, rng):
    A_host = rng.standard_normal((3, 4))
    x_host = rng.standard_normal(4)
    A = xp.asarray(A_host, dtype=getattr(xp, dtype))
    x = xp.asarray(x_host, dtype=getattr(xp, dtype))
    J = numerical_jacobian(lambda z: A @ xp.tanh(z), x)
    assert J.shape == (3, 4)
    exact = A_host * (1 - np.tanh(x_host) ** 2)
    eps = finfo_eps(x.dtype)
    assert np.max(np.abs(to_numpy(J) - exact)) <= 100 * eps ** (2 / 3)


def test_the_input_is_not_modified(xp, rng):
    x = xp.asarray(rng.standard_normal(5))
    before = to_numpy(x).copy()
    for method in METHODS:
        numerical_gradient(lambda z: xp.sum(z**3), x, method)
    np.testing.assert_array_equal(to_numpy(x), before)


def test_elementwise_derivative_tracks_the_model():
    x = np.linspace(0.5, 1.5, 64)
    r = derivative(np.exp, x, "central")
    assert np.max(np.abs(r.value / np.exp(x) - 1)) <= 10 * np.max(r.predicted_error / np.exp(x))


# --- bad input -------------------------------------------------------------------------


def test_non_scalar_f_is_named():
    with pytest.raises(ValueError, match="f must return a scalar.*shape \\(3,\\)"):
        numerical_gradient(lambda z: z * 2, np.ones(3))


def test_nan_from_f_names_entry_and_perturbation():
    def f(z):
        with np.errstate(invalid="ignore"):
            return np.sum(np.log(z))  # NaN once an entry goes below 0

    with pytest.raises(ValueError, match=r"f returned nan at x \+ \(-.*\) e_1 \(entry 1; perturbation -h\)"):
        numerical_gradient(f, np.array([1.0, 1e-3, 2.0]), h=0.01)


def test_integer_x_is_rejected():
    with pytest.raises(TypeError, match="x must have a real floating dtype"):
        numerical_gradient(lambda z: np.sum(z), np.arange(3))


def test_h_below_the_spacing_of_x():
    with pytest.raises(ValueError, match="h is below the spacing of x at entry 0.*rounds back to x"):
        numerical_gradient(lambda z: np.sum(z**2), np.array([1e8, 1.0]), h=1e-12)


@pytest.mark.parametrize("h", [0.0, -1e-3, math.nan])
def test_non_positive_h(h):
    with pytest.raises(ValueError, match="h must be positive"):
        numerical_gradient(lambda z: np.sum(z**2), np.ones(2), h=h)


def test_unknown_method():
    with pytest.raises(ValueError, match="method must be one of"):
        numerical_gradient(lambda z: np.sum(z), np.ones(2), method="backward")


def test_non_analytic_f_is_detected_for_the_complex_step():
    with pytest.raises(ValueError, match="not complex-analytic"):
        numerical_gradient(lambda z: np.sum(z * np.abs(z)), np.array([0.5, -1.0, 2.0]), "complex")
    with pytest.raises(ValueError, match="returned a real"):
        numerical_gradient(lambda z: float(np.sum(np.abs(z) ** 2)), np.array([0.5, 1.0]), "complex")


def test_x_with_nan_is_rejected():
    with pytest.raises(ValueError, match="x has a NaN or Inf at entry 1"):
        numerical_gradient(lambda z: np.sum(z), np.array([1.0, np.nan]))


def test_vectorized_f_that_needs_the_batch_axis():
    """Every evaluation, probes and f(x) included, goes through f with a leading batch axis."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal(5)

    def fv(X):
        assert X.ndim == 2, "f was called without the batch axis"
        return np.sum(np.sin(X[:, :]) * X[:, :1], axis=1)

    loop = numerical_gradient(lambda z: fv(z[None, :])[0], x)
    for method in METHODS:
        batch = numerical_gradient(fv, x, method, vectorized=True)
        np.testing.assert_allclose(batch, numerical_gradient(lambda z: fv(z[None, :])[0], x, method), rtol=1e-12)
    assert loop.shape == x.shape


def test_vectorized_jacobian():
    rng = np.random.default_rng(8)
    A = rng.standard_normal((3, 4))
    x = rng.standard_normal(4)
    J = numerical_jacobian(lambda X: np.tanh(X) @ A.T, x, vectorized=True, batch_size=3)
    np.testing.assert_allclose(J, A * (1 - np.tanh(x) ** 2), atol=1e-9)


def test_the_reference_central_difference_agrees_with_the_engineered_one():
    x = np.linspace(-1.0, 2.0, 7)
    f = lambda w: float(np.sum(np.exp(np.sin(w))))  # noqa: E731
    exact = np.cos(x) * np.exp(np.sin(x))
    plain = reference_gradient(f, x)
    engineered = numerical_gradient(f, x)
    # The fixed step 1e-6 errs by about eps/h ~ 1e-10; the error-model step reaches about eps^(2/3) ~ 1e-11.
    assert np.max(np.abs(plain - exact)) < 1e-8
    assert np.max(np.abs(engineered - exact)) <= np.max(np.abs(plain - exact))


def test_the_error_curve_shows_the_model_slopes_on_both_sides_of_h_star():
    from gc_theory.gradcheck.curves import model_step, rms_error_curve

    x = np.linspace(0.5, 1.5, 64)
    h_star = model_step(x, "central")
    right = np.geomspace(10 * h_star, 100 * h_star, 5)
    left = np.geomspace(h_star / 1000, h_star / 10, 5)
    slope = lambda hs: np.polyfit(np.log10(hs), np.log10(rms_error_curve(x, "central", hs)), 1)[0]  # noqa: E731
    # Truncation M h^2/6 to the right of h*, rounding eps|f|/h to the left (error model table).
    assert abs(slope(right) - 2.0) < 0.1
    assert abs(slope(left) + 1.0) < 0.25
