"""Power iteration for the top Hessian eigenvalue: accuracy against numpy.linalg.eigvalsh, its error bound, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from gc_theory.core.backend import to_numpy
from gc_theory.landscape.power_iteration import top_eigenvalue
from gc_theory.testing.strategies import on_backend, seeds, spd_matrices


@given(a=spd_matrices(), seed=seeds)
def test_error_bound_contains_an_eigenvalue(a, seed):
    v0 = np.random.default_rng(seed).standard_normal(a.shape[0])
    r = top_eigenvalue(lambda v: a @ v, v0, tol=1e-8, maxiter=300)
    lam = np.linalg.eigvalsh(a)
    # Bauer-Fike for symmetric matrices: some eigenvalue within ||r||, whether or not it converged.
    slack = 8 * np.finfo(float).eps * lam[-1] * a.shape[0]
    assert np.min(np.abs(lam - r.eigenvalue)) <= r.error_bound + slack
    assert isinstance(r.eigenvalue, float) and isinstance(r.error_bound, float)


def test_finds_the_top_eigenvalue_with_its_sign(backend):
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    for lam in (np.linspace(-3.0, 5.0, 12), np.linspace(-7.0, 2.0, 12)):
        a = (q * lam) @ q.T
        a_x = on_backend(backend, a)
        r = top_eigenvalue(lambda v: a_x @ v, on_backend(backend, rng.standard_normal(12)), tol=1e-10)
        top = lam[np.argmax(np.abs(lam))]
        assert r.converged
        assert abs(r.eigenvalue - top) <= r.error_bound + 1e-13 * abs(top)
        assert abs(abs(float(to_numpy(r.vector) @ q[:, np.argmax(np.abs(lam))])) - 1.0) < 1e-8


def test_null_space_start_returns_zero():
    a = np.diag([2.0, 0.0])
    r = top_eigenvalue(lambda v: a @ v, np.array([0.0, 1.0]))
    assert r.eigenvalue == 0.0 and r.converged


def test_reports_non_convergence_instead_of_hiding_it():
    a = np.diag([1.0, -1.0])  # +-lambda_max: the iterate oscillates
    r = top_eigenvalue(lambda v: a @ v, np.array([1.0, 1.0]), maxiter=20)
    assert not r.converged and r.iterations == 20 and r.error_bound > 0.5


def test_bad_input_names_the_argument():
    a = np.eye(3)
    with pytest.raises(ValueError, match="v0 must be nonzero"):
        top_eigenvalue(lambda v: a @ v, np.zeros(3))
    with pytest.raises(TypeError, match="hvp must be callable"):
        top_eigenvalue(a, np.ones(3))
    with pytest.raises(ValueError, match="hvp must return an array of shape"):
        top_eigenvalue(lambda v: np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match=r"hvp\(v\) at iteration 0 has 3 non-finite"):
        top_eigenvalue(lambda v: v * np.nan, np.ones(3))
    with pytest.raises(ValueError, match="tol must be"):
        top_eigenvalue(lambda v: a @ v, np.ones(3), tol=0.0)
    with pytest.raises(ValueError, match="v0 must be a 1-D"):
        top_eigenvalue(lambda v: v, np.ones((2, 2)))
