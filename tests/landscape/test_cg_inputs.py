"""nonlinear_cg and beta_value on bad input and on functions with a bounded domain (issue 21, items 5, 6, 10, 13)."""

import numpy as np
import pytest

from gc_theory.landscape.cg import beta_value, nonlinear_cg

scipy_optimize = pytest.importorskip("scipy.optimize")


def _quadratic(x):
    return 0.5 * float(x @ x)


def _quadratic_grad(x):
    return x.copy()


def test_beta_value_refuses_an_unknown_name():
    g = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match="name must be one of"):
        beta_value("XX", g, 2 * g, -g)


@pytest.mark.parametrize("flag", ["restart", "return_all"])
@pytest.mark.parametrize("value", ["no", 0, None])
def test_non_bool_flags_are_refused(flag, value):
    with pytest.raises(TypeError, match=f"{flag} must be True or False"):
        nonlinear_cg(_quadratic, _quadratic_grad, np.ones(2), **{flag: value})


def test_longdouble_start_is_refused_rather_than_computed_in_float64():
    if np.finfo(np.longdouble).eps == np.finfo(np.float64).eps:
        pytest.skip("longdouble is float64 on this platform")
    with pytest.raises(TypeError, match="x0 .*longdouble|x0 .*float128|x0 .*float96"):
        nonlinear_cg(_quadratic, _quadratic_grad, np.ones(2, dtype=np.longdouble))


def test_complex_gradient_is_refused_not_truncated():
    with pytest.raises(TypeError, match="grad must return a real"):
        nonlinear_cg(_quadratic, lambda x: x + 1j, np.ones(2))


def test_complex_function_value_is_refused_not_truncated():
    with pytest.raises(TypeError, match="f must return a real"):
        nonlinear_cg(lambda x: _quadratic(x) + 1j, _quadratic_grad, np.ones(2))


def _log_barrier(x):
    return float(np.sum(x - np.log(x)))  # NaN outside x > 0


def _log_barrier_grad(x):
    return 1.0 - 1.0 / x


def _cosh3(x):
    return float(np.sum(np.cosh(3.0 * x)))  # overflows to inf for |x| > ~236


def _cosh3_grad(x):
    return 3.0 * np.sinh(3.0 * x)


@pytest.mark.parametrize(
    ("f", "grad", "x0", "xstar", "gtol"),
    [
        (_log_barrier, _log_barrier_grad, np.array([0.01, 5.0]), np.ones(2), 1e-8),
        # cosh: f = 2 + 4.5 |x|^2 + ... near 0, whose rounding (eps f ~ 4e-16) resolves |x| down to
        # sqrt(4e-16 / 4.5) ~ 1e-8, a gradient 9 |x| ~ 1e-7: a gtol of 1e-6 is one the search can reach.
        (_cosh3, _cosh3_grad, np.array([2.0, -1.5]), np.zeros(2), 1e-6),
    ],
)
def test_trial_points_outside_the_domain_are_failed_trials(f, grad, x0, xstar, gtol):
    """Where SciPy's CG converges, so does nonlinear_cg: a non-finite trial value makes the search backtrack."""
    with np.errstate(all="ignore"):
        reference = scipy_optimize.minimize(f, x0, jac=grad, method="CG", options={"gtol": gtol})
        res = nonlinear_cg(f, grad, x0, tol=gtol)
    assert reference.success
    assert res.success, res.message
    np.testing.assert_allclose(res.x, xstar, atol=gtol)
    np.testing.assert_allclose(res.x, reference.x, atol=gtol)
    assert np.isfinite(res.fun)


def test_a_non_finite_value_at_the_start_is_still_an_error():
    with pytest.raises(ValueError, match="f is not finite .* at iteration 0"):
        nonlinear_cg(_log_barrier, _log_barrier_grad, np.array([-1.0, 2.0]))


def test_gtol_is_the_scipy_name_and_tol_an_alias():
    from scipy.optimize import rosen, rosen_der

    x0 = np.array([-1.2, 1.0])
    by_gtol = nonlinear_cg(rosen, rosen_der, x0, gtol=1e-6)
    by_tol = nonlinear_cg(rosen, rosen_der, x0, tol=1e-6)
    assert by_gtol.nfev == by_tol.nfev and np.array_equal(by_gtol.x, by_tol.x)
    assert np.max(np.abs(by_gtol.jac)) <= 1e-6
    with pytest.raises(ValueError, match="gtol and tol"):
        nonlinear_cg(rosen, rosen_der, x0, gtol=1e-6, tol=1e-7)
