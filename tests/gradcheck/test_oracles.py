"""Gradient checking against implementations written elsewhere: SciPy, numdifftools, torch.autograd.gradcheck.

Each oracle is skipped cleanly when it is not installed. Where torch's verdict
differs from ours, the test documents the difference as the improvement:

* float32: torch's fixed step (1e-6) and tolerances (atol 1e-5, rtol 1e-3) are
  made for float64; in float32 the step is below the rounding level of f and
  a *correct* gradient fails. Our step and tolerance follow the dtype.
* kinks: at a ReLU's 0 torch compares the subgradient with the central
  difference (1/2 of the jump) and fails; we report a non-differentiable point.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gc_theory.gradcheck import PrecisionWarning, check_gradient, numerical_gradient
from gc_theory.models.cases import plant

pytestmark = pytest.mark.oracle


def _problem(n=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((8, n))
    C = rng.standard_normal(8)
    x = rng.standard_normal(n) * 0.5

    def f(w):
        return float(C @ np.tanh(X @ w))

    def grad(w):
        return X.T @ (C * (1 - np.tanh(X @ w) ** 2))

    return x, f, grad


# --- SciPy --------------------------------------------------------------------------------


def test_agrees_with_scipy_approx_fprime_and_is_more_accurate():
    optimize = pytest.importorskip("scipy.optimize", reason="SciPy is the oracle here")
    x, f, grad = _problem()
    exact = grad(x)
    theirs = optimize.approx_fprime(x, f)  # forward difference, step sqrt(eps)
    ours = numerical_gradient(f, x)
    scale = np.max(np.abs(exact))
    # approx_fprime's forward difference is accurate to about sqrt(eps); both agree to that.
    assert np.max(np.abs(ours - theirs)) <= 1e-6 * scale
    assert np.max(np.abs(ours - exact)) < np.max(np.abs(theirs - exact)) / 100


def test_check_grad_distance_matches():
    optimize = pytest.importorskip("scipy.optimize", reason="SciPy is the oracle here")
    x, f, grad = _problem(seed=1)
    wrong = plant("factor_2", grad, x)
    theirs = optimize.check_grad(f, wrong, x)  # ||grad - approx_fprime||
    ours = np.linalg.norm(wrong(x) - numerical_gradient(f, x))
    assert ours == pytest.approx(theirs, rel=1e-5)
    assert not check_gradient(f, wrong, x).passed and check_gradient(f, grad, x).passed


# --- numdifftools -------------------------------------------------------------------------


def test_agrees_with_numdifftools():
    nd = pytest.importorskip("numdifftools", reason="numdifftools is the oracle here")
    x, f, grad = _problem(seed=2)
    theirs = nd.Gradient(f)(x)
    for method in ("central", "richardson", "complex"):
        ours = numerical_gradient(_complex_ready(seed=2) if method == "complex" else f, x, method)
        assert np.max(np.abs(ours - theirs)) <= 1e-9 * np.max(np.abs(theirs)), method


def _complex_ready(seed):
    """The same f written without float(): complex input stays complex."""
    rng = np.random.default_rng(seed)
    n = 20
    X = rng.standard_normal((8, n))
    C = rng.standard_normal(8)
    return lambda w: C @ np.tanh(X @ w)


# --- torch.autograd.gradcheck -------------------------------------------------------------


def _torch_function(torch, f, grad, dtype):
    """f with `grad` as its backward, so that torch's gradcheck judges our analytic gradient."""

    class Wrapped(torch.autograd.Function):
        @staticmethod
        def forward(ctx, w):
            ctx.save_for_backward(w)
            return torch.tensor(f(w.detach().numpy()), dtype=dtype)

        @staticmethod
        def backward(ctx, out):
            (w,) = ctx.saved_tensors
            return out * torch.from_numpy(np.asarray(grad(w.detach().numpy()), dtype=w.detach().numpy().dtype))

    return Wrapped.apply


def _torch_verdict(torch, f, grad, x):
    t = torch.tensor(x, requires_grad=True)
    fn = _torch_function(torch, f, grad, t.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.autograd.gradcheck(fn, (t,), raise_exception=False)


def test_verdicts_agree_with_torch_gradcheck_in_float64():
    torch = pytest.importorskip("torch", reason="torch is the oracle here")
    x, f, grad = _problem(seed=3)
    assert _torch_verdict(torch, f, grad, x) and check_gradient(f, grad, x).passed
    for bug in ("sign_flip", "factor_2"):
        wrong = plant(bug, grad, x)
        assert not _torch_verdict(torch, f, wrong, x)
        assert not check_gradient(f, wrong, x).passed


def test_float32_torch_fails_a_correct_gradient_ours_passes():
    """The improvement: a correct float32 gradient passes here (with a warning), where torch's float64 settings fail it."""
    torch = pytest.importorskip("torch", reason="torch is the oracle here")
    x, f64, grad = _problem(seed=4)
    x32 = x.astype(np.float32)
    rng = np.random.default_rng(4)
    X = rng.standard_normal((8, 20)).astype(np.float32)
    C = rng.standard_normal(8).astype(np.float32)

    def f(w):
        return np.float32(C @ np.tanh(X @ w))

    def g(w):
        return X.T @ (C * (1 - np.tanh(X @ w) ** 2))

    assert not _torch_verdict(torch, f, g, x32)
    with pytest.warns(PrecisionWarning):
        assert check_gradient(f, g, x32).passed
    with pytest.warns(PrecisionWarning):
        assert not check_gradient(f, plant("sign_flip", g, x32), x32).passed


def test_kink_torch_calls_it_a_mismatch_ours_names_it():
    """The improvement: at a ReLU's 0 torch reports a mismatch; we report a non-differentiable point."""
    torch = pytest.importorskip("torch", reason="torch is the oracle here")
    w = np.arange(1.0, 5.0)
    f = lambda z: float(np.sum(w * np.maximum(z, 0.0)))  # noqa: E731
    g = lambda z: w * (z > 0)  # noqa: E731
    x = np.array([0.0, 0.7, -0.3, 1.2])
    assert not _torch_verdict(torch, f, g, x)
    report = check_gradient(f, g, x)
    assert report.passed and report.kinks.tolist() == [0] and report.bugs.size == 0
    # A real bug next to the kink is still a bug.
    bad = lambda z: g(z) * np.array([1.0, -1.0, 1.0, 1.0])  # noqa: E731
    assert check_gradient(f, bad, x).bugs.tolist() == [1]
