"""The problems IGR draws on: exact gradients, Hessian-vector products and third-derivative contractions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from gc_theory.testing.strategies import seeds

from gc_theory.gradcheck import check_gradient, check_hvp
from gc_theory.problems import Quadratic, Quartic, TwoParameter, Valley

PROBLEMS = {
    "quadratic": lambda: Quadratic([0.3, 1.0, 2.5], seed=3),
    "quartic": lambda: Quartic([0.5, 1.0, 2.0], c=0.7, seed=1),
    "two_parameter": lambda: TwoParameter(x=1.3, y=0.8),
    "valley": Valley,
}


@pytest.mark.parametrize("name", PROBLEMS)
@given(seed=seeds)
def test_gradient_and_hvp_match_differences(name, seed):
    problem = PROBLEMS[name]()
    rng = np.random.default_rng(seed)
    theta = rng.uniform(-0.8, 0.8, problem.dim)
    assert check_gradient(problem.value, problem.grad, theta).passed
    assert check_hvp(problem.grad, problem.hvp, theta, seed=seed).passed


@pytest.mark.parametrize("name", PROBLEMS)
@given(seed=seeds)
def test_third_is_the_derivative_of_the_hvp(name, seed):
    problem = PROBLEMS[name]()
    rng = np.random.default_rng(seed)
    theta, u = rng.uniform(-0.8, 0.8, (2, problem.dim))
    # third(theta, u, .) is the Jacobian of theta -> H(theta) u, checked like a Hessian-vector product.
    report = check_hvp(lambda t: problem.hvp(t, u), lambda t, v: problem.third(t, u, v), theta, seed=seed)
    assert report.passed, report.verdict
    np.testing.assert_allclose(problem.third(theta, u, theta), problem.third(theta, theta, u), rtol=1e-12, atol=1e-14)


def test_numdifftools_oracle():
    nd = pytest.importorskip("numdifftools")
    rng = np.random.default_rng(0)
    for make in PROBLEMS.values():
        problem = make()
        theta, u, v = rng.uniform(-0.7, 0.7, (3, problem.dim))
        np.testing.assert_allclose(problem.grad(theta), nd.Gradient(problem.value)(theta), rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(problem.hvp(theta, v), nd.Jacobian(problem.grad)(theta) @ v, rtol=1e-8, atol=1e-10)
        third = nd.Jacobian(lambda t, problem=problem: problem.hvp(t, v))(theta) @ u
        np.testing.assert_allclose(problem.third(theta, u, v), third, rtol=1e-7, atol=1e-9)


def test_quadratic_modified_spectrum_and_flow():
    q = Quadratic([0.5, 2.0], seed=0)
    h = 0.3
    np.testing.assert_allclose(q.modified_spectrum(h), -np.log(1 - h * q.spectrum) / h, rtol=1e-15)
    theta0 = np.array([1.0, -2.0])
    gd = theta0.copy()
    for _ in range(7):
        gd = gd - h * q.grad(gd)
    np.testing.assert_allclose(q.modified_flow(theta0, h, 7 * h), gd, rtol=1e-13, atol=1e-15)


def test_two_parameter_sharpness_on_the_minima():
    p = TwoParameter(x=2.0, y=3.0)
    a = 1.7
    theta = np.array([a, 3.0 / (2.0 * a)])
    assert abs(p.sharpness(theta) - 4.0 * (theta @ theta)) <= 1e-13 * p.sharpness(theta)


@pytest.mark.parametrize(("make", "match", "error"), [
    (lambda: Quadratic([]), "spectrum", ValueError),
    (lambda: Quadratic([1.0, -1.0]), "spectrum", ValueError),
    (lambda: Quadratic([1.0], seed=-1), "seed", ValueError),
    (lambda: Quadratic([1.0]).modified_spectrum(1.0), "backward|lambda_max", ValueError),
    (lambda: Quadratic([1.0]).modified_spectrum(0.0), "h must", ValueError),
    (lambda: Quartic([1.0], c=np.nan), "c must", ValueError),
    (lambda: Quartic([1.0]).modified_spectrum(0.1), "only quadratics", TypeError),
    (lambda: TwoParameter(x="1"), "x must", TypeError),
])
def test_bad_input(make, match, error):
    with pytest.raises(error, match=match):
        make()


@given(st.floats(0.05, 0.95))
def test_modified_spectrum_refuses_exactly_at_one(h_lambda):
    q = Quadratic([1.0, 2.0])
    assert np.all(np.isfinite(q.modified_spectrum(h_lambda / 2.0)))
    with pytest.raises(ValueError, match="lambda_max"):
        q.modified_spectrum(1.0 / 2.0)


def test_the_igr_runs_live_below_the_figures():
    # Notebooks and tests draw the runs from the problem modules; the figure module only draws them.
    import json
    from pathlib import Path

    from gc_theory.problems.quadratic import quadratic_runs
    from gc_theory.problems.valley import valley_runs

    notebook = Path(__file__).resolve().parents[2] / "notebooks" / "07_implicit_gradient_regularization.ipynb"
    cells = json.loads(notebook.read_text())["cells"]
    sources = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert "gc_theory.figures." not in sources
    problem, runs = valley_runs(T=1.0)
    assert len(runs) == 4 and all(np.all(np.isfinite(path)) for path in runs.values())
    gd, modified = quadratic_runs((0.5, 2.5), steps=10)[0.5]
    assert modified is not None and np.allclose(gd, modified, rtol=1e-12, atol=1e-15)
    assert quadratic_runs((2.5,), steps=10)[2.5][1] is None


def test_two_parameter_value_of_a_diverged_run_is_inf_not_an_error():
    # A run above the stability limit reaches |ab| ~ 1e300; with overflow silenced (as a caller probing a
    # divergence does) its loss is +inf, as NumPy's would be, not a Python OverflowError.
    from gc_theory.problems import TwoParameter

    with np.errstate(over="ignore"):
        assert TwoParameter().value(np.array([1e150, 1e150])) == np.inf
