"""Nonlinear CG: the SciPy-like result, the quadratic theorems, an oracle (scipy CG), bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import OptimizeResult, minimize, rosen, rosen_der

from gc_theory.landscape.cg import BETAS, beta_value, nonlinear_cg, pairwise_cosines
from gc_theory.claims import get_claim
from gc_theory.problems import SPDQuadratic
from gc_theory.testing.strategies import seeds, spd_matrices

CG = ("FR", "PR", "PR+", "HS", "DY")


def _problem(a: np.ndarray, seed: int) -> SPDQuadratic:
    return SPDQuadratic(a, np.random.default_rng(seed).standard_normal(a.shape[0]))


@given(a=spd_matrices(log10_condition=st.floats(0.0, 2.0)), seed=seeds, beta=st.sampled_from(CG))
def test_exact_steps_solve_an_spd_quadratic_in_n_steps(a, seed, beta):
    q = _problem(a, seed)
    n = a.shape[0]
    res = nonlinear_cg(q.value, q.grad, np.zeros(n), beta=beta, line_search="exact", hvp=q.hvp, tol=1e-300, maxiter=n)
    kappa = q.eigenvalues[-1] / q.eigenvalues[0]
    x_star = q.minimiser
    # Rounding of A x - b amplified by at most kappa, with n steps of slack (module docs of claims.cg).
    assert np.linalg.norm(res.x - x_star) <= 1e3 * n * kappa**2 * np.finfo(float).eps * (1 + np.linalg.norm(x_star))


def test_result_reads_like_scipy():
    res = nonlinear_cg(rosen, rosen_der, np.array([-1.2, 1.0]), tol=1e-6)
    assert isinstance(res, OptimizeResult)
    for key in ("x", "fun", "jac", "nit", "nfev", "njev", "success", "status", "message", "nrestart"):
        assert key in res
    assert res.success and res.status == 0 and isinstance(res.fun, float) and isinstance(res.nit, int)
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-5)


@pytest.mark.parametrize("beta", CG)
def test_each_beta_reaches_scipys_minimiser_on_rosenbrock(beta):
    x0 = np.array([-1.2, 1.0] * 3)
    oracle = minimize(rosen, x0, jac=rosen_der, method="CG", options={"gtol": 1e-7})
    res = nonlinear_cg(rosen, rosen_der, x0, beta=beta, tol=1e-7)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, oracle.x, atol=1e-6)


def test_beta_formulas_on_a_hand_example():
    g0, g1, d = np.array([1.0, 0.0]), np.array([0.5, 1.0]), np.array([-1.0, 0.0])
    y = g1 - g0  # (-0.5, 1)
    assert beta_value("FR", g1, g0, d) == 1.25
    assert beta_value("PR", g1, g0, d) == 0.75
    assert beta_value("HS", g1, g0, d) == 0.75 / 0.5
    assert beta_value("DY", g1, g0, d) == 1.25 / 0.5
    assert beta_value("PR", np.array([0.5, 0.0]), g0, d) == -0.25
    assert beta_value("PR+", np.array([0.5, 0.0]), g0, d) == 0.0
    assert beta_value("SD", g1, g0, d) == 0.0
    assert float(d @ y) == 0.5


def test_pairwise_cosines_of_an_orthogonal_basis_are_zero():
    np.testing.assert_array_equal(pairwise_cosines(np.eye(3)), np.zeros((3, 3)))
    assert pairwise_cosines(np.array([[1.0, 0.0], [1.0, 1.0]]))[0, 1] == pytest.approx(2**-0.5)


def test_failed_line_search_is_reported_in_the_message():
    # f decreases without bound along -g, then the gradient lies: no step meets the Wolfe conditions.
    res = nonlinear_cg(lambda x: float(x[0]), lambda x: np.array([-1.0]), np.array([0.0]), maxiter=5)
    assert not res.success and res.status == 2
    assert "line search" in res.message and "iteration 0" in res.message


def test_non_finite_values_name_the_iteration():
    with pytest.raises(ValueError, match="f is not finite .* at iteration 0"):
        nonlinear_cg(lambda x: np.nan, lambda x: x, np.ones(2))
    with pytest.raises(ValueError, match="grad is not finite at iteration 0"):
        nonlinear_cg(lambda x: 0.0, lambda x: x * np.inf, np.ones(2))


def test_exact_step_refuses_a_non_spd_hessian():
    a = np.diag([1.0, -1.0])
    with pytest.raises(ValueError, match="not positive definite along d at iteration 0"):
        nonlinear_cg(lambda x: 0.5 * x @ a @ x, lambda x: a @ x, np.array([0.0, 1.0]), line_search="exact", hvp=lambda x, v: a @ v)


def test_bad_arguments_name_themselves():
    f, g, x0 = rosen, rosen_der, np.array([-1.2, 1.0])
    with pytest.raises(ValueError, match="beta must be one of"):
        nonlinear_cg(f, g, x0, beta="Newton")
    with pytest.raises(ValueError, match="line_search must be one of"):
        nonlinear_cg(f, g, x0, line_search="armijo")
    with pytest.raises(ValueError, match="needs hvp"):
        nonlinear_cg(f, g, x0, line_search="exact")
    with pytest.raises(ValueError, match="c2 must be"):
        nonlinear_cg(f, g, x0, c1=0.5, c2=0.4)
    with pytest.raises(TypeError, match="x0 must have a real floating dtype"):
        nonlinear_cg(f, g, np.array([1, 2]))
    with pytest.raises(ValueError, match="x0 must be a 1-D"):
        nonlinear_cg(f, g, np.ones((2, 2)))
    with pytest.raises(TypeError, match="f must be callable"):
        nonlinear_cg(None, g, x0)
    assert set(BETAS) == {"FR", "PR", "PR+", "HS", "DY", "SD"}


@pytest.mark.parametrize("id", ["cg.quadratic.orthogonal", "cg.quadratic.n_steps", "cg.quadratic.same_iterates",
                                "cg.rosenbrock.converges", "cg.wolfe.descent"])  # fmt: skip
def test_cg_claims_hold_and_their_controls_fail(id):
    result = get_claim(id).run()
    assert result.ok, result


def test_minibatch_cg_keeps_conjugacy_only_with_the_full_batch():
    from gc_theory.landscape.cg_minibatch import minibatch_cg

    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 6)) * np.geomspace(1.0, 5.0, 6)
    y = x @ rng.standard_normal(6)
    full = minibatch_cg(x, y, np.zeros(6), 200, 6, np.random.default_rng(1))
    noisy = minibatch_cg(x, y, np.zeros(6), 8, 6, np.random.default_rng(1))
    assert max(full.cosines) < 1e-12 and full.losses[-1] < 1e-20
    assert np.mean(noisy.cosines) > 1e-2 and noisy.losses[-1] > 1e3 * full.losses[-1]
    with pytest.raises(ValueError, match="batch_size must be <= 200"):
        minibatch_cg(x, y, np.zeros(6), 201, 5, rng)


def test_stochastic_cg_claim_holds_and_its_control_fails():
    assert get_claim("cg.stochastic.conjugacy").run().ok


def test_cg_benchmark_quick_run_reports_every_beta_and_scipy():
    from gc_theory.bench.cg import cg_vs_scipy

    report = cg_vs_scipy(repeats=1, quick=True)
    methods = {row[1] for row in report.rows}
    assert methods == {f"nonlinear_cg {b}" for b in CG} | {"scipy CG (PR+)"}
    assert all(row[2] for row in report.rows)  # every method converged on Rosenbrock
    assert len(report.targets) == 2


def test_spd_quadratic_has_its_spectrum_minimiser_and_derivatives_in_any_namespace(xp):
    from gc_theory.core.backend import array_namespace, to_numpy
    from gc_theory.gradcheck import check_gradient, check_hvp
    from gc_theory.problems import spd_quadratic

    q = spd_quadratic([1.0, 3.0, 10.0, 30.0], np.random.default_rng(1), xp=xp)
    assert array_namespace(q.A) is xp and q.condition_number == pytest.approx(30.0)
    np.testing.assert_allclose(np.linalg.eigvalsh(to_numpy(q.A)), [1.0, 3.0, 10.0, 30.0], rtol=1e-13)
    assert float(xp.max(xp.abs(q.grad(q.minimiser)))) <= 1e-13 * 30.0
    x, v = xp.asarray(np.arange(4.0)), xp.asarray(np.ones(4))
    assert check_gradient(q.value, q.grad, x).passed and check_hvp(q.grad, q.hvp, x, v).passed


def test_spd_quadratic_rejects_bad_input():
    from gc_theory.problems import SPDQuadratic, spd_quadratic

    with pytest.raises(ValueError, match="spectrum must be > 0"):
        spd_quadratic([1.0, -2.0], np.random.default_rng(0))
    with pytest.raises(ValueError, match="spectrum must have at least one eigenvalue"):
        spd_quadratic([], np.random.default_rng(0))
    with pytest.raises(ValueError, match="A must be square"):
        SPDQuadratic(np.ones((2, 3)), np.ones(2))
