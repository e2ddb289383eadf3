"""check_gradient, its diagnosis, directional checks, localisation and the Hessian-vector check."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gc_theory.core.backend import get_namespace, to_numpy
from gc_theory.gradcheck import (
    PrecisionWarning,
    check_gradient,
    check_hvp,
    diagnose,
    directional_check,
    localize,
)
from gc_theory.models.cases import BUGS, Case, flat_case, gradient_cases, plant, planted_entries


def _layer(xp, dtype, seed=0):
    """Linear least squares as a function of its (4, 4) weight alone."""
    case = next(c for c in gradient_cases(xp, dtype, seed, kinds=["model"]) if c.name == "model.linear_mse")
    return flat_case(case, xp, keys=["0.weight"])


def _smooth_cases(xp, seed):
    """Four smooth registered cases, each as a function of one flat vector."""
    names = ("layer.gc_operator", "model.linear_mse", "loss.softmax_cross_entropy", "model.tanh_cross_entropy")
    return [flat_case(c, xp) for c in gradient_cases(xp, "float64", seed) if c.name in names]


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)
        return fn(*args, **kwargs)


def test_a_correct_gradient_passes_on_every_backend(xp, dtype):
    case = _layer(xp, dtype)
    report = _quiet(check_gradient, case.f, case.grad, case.x)
    assert report.passed, str(report)
    assert report.evaluations >= 2 * case.size and report.worst.shape == (case.size,)
    assert "PASSED" in str(report)


@pytest.mark.parametrize("bug", BUGS)
def test_planted_bugs_fail_with_a_bug_verdict(xp, bug):
    case = _layer(xp, "float64")
    wrong = plant(bug, case.grad, case.x, case.weight_block)
    report = check_gradient(case.f, wrong, case.x)
    planted = planted_entries(bug, case.grad, case.x, case.weight_block)
    assert not report.passed
    assert set(report.bugs.tolist()) == set(planted.tolist())
    assert set(report.worst[: planted.size].tolist()) == set(planted.tolist())
    assert "bug" in report.verdict and "FAILED" in str(report)


def test_sign_flip_is_named_in_the_verdict():
    case = _layer(get_namespace("numpy"), "float64")
    report = check_gradient(case.f, plant("sign_flip", case.grad, case.x), case.x)
    j = int(planted_entries("sign_flip", case.grad, case.x)[0])
    assert report.worst[0] == j and f"entry {j}" in report.verdict


def test_float32_passes_with_a_warning():
    case = _layer(get_namespace("numpy"), "float32")
    with pytest.warns(PrecisionWarning, match="float64 is the place"):
        report = check_gradient(case.f, case.grad, case.x)
    assert report.passed


def test_kinks_are_reported_not_called_bugs():
    """ReLU at exactly 0: one-sided slopes 0 and 1 disagree at every step; the report says 'kink'."""
    weights = np.arange(1.0, 6.0)
    f = lambda z: np.sum(weights * np.maximum(z, 0.0))  # noqa: E731
    g = lambda z: weights * (z > 0)  # noqa: E731
    x = np.array([0.0, 1.0, -1.0, 0.0, 0.5])
    report = check_gradient(f, g, x)
    assert report.passed and report.kinks.tolist() == [0, 3]
    assert "non-differentiable" in report.verdict


def test_shrink_h_diagnosis_separates_truncation_from_bugs():
    x = np.linspace(0.5, 1.5, 5)
    f = lambda z: np.sum(np.exp(z))  # noqa: E731
    right, _ = diagnose(f, np.exp, x, 1e-3)
    assert {d.kind for d in right.values()} == {"truncation"}
    assert all(abs(math.log10(d.ratio) - 2) < 0.1 for d in right.values())
    wrong = plant("sign_flip", np.exp, x)
    found, _ = diagnose(f, wrong, x, 1e-3, [4])
    assert found[4].kind == "bug" and abs(math.log10(found[4].ratio)) < 0.1


def test_a_too_large_step_is_diagnosed_as_truncation_and_called_inconclusive():
    """An explicit h far too large for f = sum(sin(10 x)): failures are truncation, not bugs, and no pass is claimed."""
    x = np.linspace(0.1, 0.9, 4)
    f = lambda z: np.sum(np.sin(10 * z))  # noqa: E731
    report = check_gradient(f, lambda z: 10 * np.cos(10 * z), x, h=3e-3, safety=1.0)
    kinds = {d.kind for d in report.diagnoses.values()}
    assert kinds <= {"truncation"} and report.bugs.size == 0, str(report)
    assert report.inconclusive and not report.passed and "cannot be seen" in report.verdict


def test_entries_checks_only_those():
    xp = get_namespace("numpy")
    case = flat_case(next(c for c in gradient_cases(xp, "float64") if c.name == "model.mlp_tanh"), xp)
    wrong = plant("sign_flip", case.grad, case.x)
    j = int(planted_entries("sign_flip", case.grad, case.x)[0])
    report = check_gradient(case.f, wrong, case.x, entries=[j, 0, 1])
    assert sorted(report.entries.tolist()) == sorted({j, 0, 1}) and report.bugs.tolist() == [j]
    assert report.evaluations < 2 * case.size


@given(st.integers(0, 10_000), st.sampled_from(BUGS))
def test_property_bugs_never_pass_and_correct_gradients_always_do(seed, bug):
    xp = get_namespace("numpy")
    case = _smooth_cases(xp, seed)[seed % 4]
    assert check_gradient(case.f, case.grad, case.x).passed
    if bug == "transposed" and case.weight_block is None:
        return
    if planted_entries(bug, case.grad, case.x, case.weight_block).size:
        assert not check_gradient(case.f, plant(bug, case.grad, case.x, case.weight_block), case.x).passed


def test_shape_mismatch_names_grad_f():
    with pytest.raises(ValueError, match=r"grad_f\(x\) has shape \(3,\) but x has shape \(2, 3\)"):
        check_gradient(lambda z: np.sum(z), lambda z: np.ones(3), np.ones((2, 3)))


def test_non_finite_gradient_is_named():
    with pytest.raises(ValueError, match=r"grad_f\(x\) has a NaN or Inf at entry 1"):
        check_gradient(lambda z: np.sum(z), lambda z: np.array([1.0, np.inf]), np.ones(2))


# --- directional checks and localisation ---------------------------------------------


def test_directional_check_costs_8_evaluations_whatever_n(xp):
    rng = np.random.default_rng(0)
    for n in (10, 10_000):
        a = xp.asarray(rng.standard_normal(n))
        x = xp.asarray(rng.standard_normal(n))
        f = lambda z: xp.sum(a * xp.sin(z))  # noqa: E731
        g = lambda z: a * xp.cos(z)  # noqa: E731
        right = directional_check(f, g, x)
        assert right.passed and right.evaluations == 8
        mask = xp.asarray(np.arange(n) == n // 3)
        assert not directional_check(f, lambda z: xp.where(mask, -g(z), g(z)), x).passed


def test_localize_one_wrong_entry_in_log_n_evaluations():
    rng = np.random.default_rng(1)
    n = 2**14
    a, x = rng.standard_normal(n), rng.standard_normal(n)
    f = lambda z: np.sum(a * np.sin(z))  # noqa: E731

    def g(z):
        out = a * np.cos(z)
        out[12345] *= 2.0
        return out

    found = localize(f, g, x)
    assert found.indices.tolist() == [12345]
    assert found.evaluations <= 4 * math.log2(n)
    assert found.estimated_errors[0] == pytest.approx(a[12345] * np.cos(x[12345]), rel=1e-6)


def test_localize_several_and_none():
    rng = np.random.default_rng(2)
    n = 1000
    a, x = rng.standard_normal(n), rng.standard_normal(n)
    f = lambda z: np.sum(a * np.sin(z)) + 0.1 * np.sum(z) ** 2  # noqa: E731
    right = lambda z: a * np.cos(z) + 0.2 * np.sum(z)  # noqa: E731
    bad = [3, 500, 501, 998]

    def g(z):
        out = right(z)
        out[bad] += 0.5
        return out

    assert localize(f, g, x).indices.tolist() == bad
    nothing = localize(f, right, x)
    assert nothing.indices.size == 0 and nothing.evaluations == 8 and "no wrong entry" in nothing.verdict


def test_directional_check_with_pieces_steps_around_kinks():
    """A ReLU network's activation pattern tells the check when a stencil crossed a kink."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((64, 8))
    w = rng.standard_normal(8) * 1e-3  # tiny weights: pre-activations near 0, every step crosses some kink
    f = lambda v: np.sum(np.maximum(X @ v, 0.0))  # noqa: E731
    g = lambda v: X.T @ (X @ v > 0)  # noqa: E731
    report = directional_check(f, g, w, pieces=lambda v: X @ v > 0, h=0.1)
    assert report.passed and report.evaluations >= 8


# --- Hessian-vector products ------------------------------------------------------------


def test_hvp_check(xp, dtype):
    rng = np.random.default_rng(5)
    A_host = rng.standard_normal((6, 6))
    A = xp.asarray(A_host + A_host.T, dtype=getattr(xp, dtype))
    x = xp.asarray(rng.standard_normal(6), dtype=getattr(xp, dtype))
    grad = lambda z: A @ xp.tanh(z)  # noqa: E731  (not symmetric: the check does not need f)
    hvp = lambda z, v: A @ ((1 - xp.tanh(z) ** 2) * v)  # noqa: E731
    report = check_hvp(grad, hvp, x)
    assert report.passed and report.gradient_evaluations == 4, str(report)
    wrong = lambda z, v: A @ ((1 - xp.tanh(z)) * v)  # noqa: E731
    assert not check_hvp(grad, wrong, x).passed


def test_hvp_bad_input():
    with pytest.raises(TypeError, match="hvp must be callable"):
        check_hvp(lambda z: z, None, np.ones(2))
    with pytest.raises(ValueError, match="v has shape"):
        check_hvp(lambda z: z, lambda z, v: v, np.ones(2), np.ones(3))


def test_reports_hold_host_copies():
    case = _layer(get_namespace("array_api_strict"), "float64")
    report = check_gradient(case.f, case.grad, case.x)
    assert isinstance(report.analytic, np.ndarray) and isinstance(to_numpy(case.x), np.ndarray)


@given(st.integers(2, 3000), st.data())
def test_property_localize_finds_any_single_wrong_entry(n, data):
    """One wrong entry anywhere among n: found exactly, within 4 + 2 ceil(log2 n) + 8 evaluations."""
    j = data.draw(st.integers(0, n - 1))
    factor = data.draw(st.sampled_from([-1.0, 2.0, 0.0]))
    rng = np.random.default_rng(n)
    a, x = rng.uniform(0.5, 1.5, n), rng.uniform(-1.0, 1.0, n)
    f = lambda z: np.sum(a * np.exp(z / 2))  # noqa: E731

    def g(z):
        out = 0.5 * a * np.exp(z / 2)
        out[j] *= factor
        return out

    found = localize(f, g, x)
    assert found.indices.tolist() == [j]
    assert found.evaluations <= 4 + 2 * math.ceil(math.log2(n)) + 8


def test_localize_on_every_backend(xp):
    rng = np.random.default_rng(7)
    n = 300
    a, x = xp.asarray(rng.standard_normal(n)), xp.asarray(rng.standard_normal(n))
    mask = xp.asarray(np.arange(n) == 123)
    f = lambda z: xp.sum(a * xp.sin(z))  # noqa: E731
    g = lambda z: xp.where(mask, 3.0 * a * xp.cos(z), a * xp.cos(z))  # noqa: E731
    assert localize(f, g, x).indices.tolist() == [123]


@pytest.mark.parametrize("method", ["forward", "richardson", "complex"])
def test_other_methods_pass_right_and_fail_wrong_gradients(method):
    xp = get_namespace("numpy")
    # The layers refuse complex input, so the complex step gets a complex-ready f written here.
    rng = np.random.default_rng(9)
    X, W = rng.standard_normal((6, 4)), rng.standard_normal((4, 4))
    tanh_layer = Case("tanh layer", W, lambda w: np.sum(np.tanh(X @ w.T) ** 2), lambda w: (2 * np.tanh(X @ w.T) / np.cosh(X @ w.T) ** 2).T @ X)
    for case in (_smooth_cases(xp, 9)[1:] if method != "complex" else [tanh_layer]):
        assert check_gradient(case.f, case.grad, case.x, method=method).passed, (method, case.name)
        assert not check_gradient(case.f, plant("sign_flip", case.grad, case.x), case.x, method=method).passed


# --- verdicts that must not be silently wrong ------------------------------------------


def _sin_problem(n=6):
    x = np.linspace(0.3, 1.7, n)
    return (lambda w: float(np.sum(np.sin(w))), lambda w: np.cos(w), x)


@pytest.mark.parametrize(("h", "factor"), [(1.0, -1.0), (0.1, 1.01)])
def test_a_step_too_large_to_see_the_error_is_inconclusive_not_passed(h, factor):
    f, grad, x = _sin_problem()
    report = check_gradient(f, lambda w: factor * grad(w), x, h=h)
    # Entries the shrink-h diagnosis convicts make it a failure; none may hide behind the blind step.
    assert not report.passed and (report.inconclusive or report.bugs.size), str(report)
    assert "inconclusive" in report.verdict and "cannot be seen" in report.verdict
    assert "nan" not in str(report).splitlines()[1]
    assert f"{h:.3g}" in str(report).splitlines()[1]


def test_a_small_explicit_step_still_gives_a_conclusive_pass():
    f, grad, x = _sin_problem()
    report = check_gradient(f, grad, x, h=1e-5)
    assert report.passed and not report.inconclusive, str(report)


@pytest.mark.parametrize("h", [1e-300, 1e-17])
def test_every_entry_point_refuses_a_step_below_the_spacing_of_x(h):
    f, grad, x = _sin_problem()
    wrong = lambda w: -grad(w)  # noqa: E731
    for call in (
        lambda: directional_check(f, wrong, x, h=h),
        lambda: localize(f, wrong, x, h=h),
        lambda: check_gradient(f, wrong, x, h=h),
    ):
        with pytest.raises(ValueError, match="spacing of x"):
            call()


def test_a_float32_gradient_for_float64_x_is_named_as_a_dtype_mismatch():
    f, grad, x = _sin_problem(8)
    report = check_gradient(f, lambda w: grad(w).astype(np.float32), x)
    assert "float32" in report.verdict and "float64" in report.verdict, str(report)


def test_f_returning_float32_for_float64_x_is_explained_the_same_way_everywhere():
    x = np.linspace(0.3, 1.7, 6)
    f = lambda w: np.float32(np.sum(np.sin(w)))  # noqa: E731
    grad = np.cos
    for report in (check_gradient(f, grad, x), directional_check(f, grad, x), localize(f, grad, x)):
        assert "float32" in report.verdict, str(report)
        assert getattr(report, "passed", None) is not False or "inconclusive" in report.verdict


@pytest.mark.parametrize("method", ["forward", "complex"])
def test_methods_without_a_diagnosis_do_not_promise_one(method):
    _, grad, x = _sin_problem(8)
    f = lambda w: np.sum(np.sin(w))  # noqa: E731  (complex-analytic: keeps the imaginary part)
    report = check_gradient(f, lambda w: -grad(w), x, method=method)
    assert not report.passed
    assert "max_diagnose" not in report.verdict, report.verdict
    assert method in report.verdict


def test_verdict_grammar_for_one_entry():
    x = np.array([-1.0, 0.0, 0.7])
    f = lambda w: float(np.sum(np.maximum(w, 0.0)))  # noqa: E731
    report = check_gradient(f, lambda w: (w > 0).astype(float), x)
    assert "1 sit at" not in report.verdict and "1 sits at" in report.verdict, report.verdict
    for line in str(report).splitlines():
        assert " inf " not in line, str(report)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"batch_size": 0, "vectorized": True}, ValueError, "batch_size"),
        ({"noise": -1.0}, ValueError, "noise"),
        ({"probes": 0}, ValueError, "probes"),
        ({"probes": -3}, ValueError, "probes"),
        ({"probes": [0, 99]}, ValueError, "probes"),
        ({"probes": [0.5, 1]}, TypeError, "probes"),
        ({"safety": 0.0}, ValueError, "safety"),
        ({"max_diagnose": -1}, ValueError, "max_diagnose"),
        ({"pieces": 3}, TypeError, "pieces"),
        ({"seed": -1}, ValueError, "seed"),
    ],
)
def test_checker_arguments_are_validated_by_name(kwargs, error, name):
    f, grad, x = _sin_problem()
    with pytest.raises(error, match=name):
        check_gradient(f, grad, x, **kwargs)


@pytest.mark.parametrize("value", [None, "1.0"])
def test_f_returning_something_that_is_not_a_number_is_refused(value):
    x = np.linspace(0.3, 1.7, 4)
    for call in (check_gradient, directional_check):
        with pytest.raises(TypeError, match="f must return"):
            call(lambda w: value, np.cos, x)


def test_a_0d_point_is_accepted_everywhere():
    x = np.asarray(0.4)
    f = lambda w: float(np.sin(w))  # noqa: E731
    assert check_gradient(f, np.cos, x).passed
    assert directional_check(f, np.cos, x).passed
    assert localize(f, np.cos, x).indices.size == 0


@pytest.mark.parametrize("call", [directional_check, localize])
def test_directional_arguments_are_validated_by_name(call):
    f, grad, x = _sin_problem()
    with pytest.raises(ValueError, match="seed"):
        call(f, grad, x, seed=-1)
    with pytest.raises(ValueError, match="safety"):
        call(f, grad, x, safety=0.0)
    with pytest.raises(TypeError, match="pieces"):
        call(f, grad, x, pieces="relu")


def test_a_function_the_spacing_of_x_cannot_resolve_is_not_called_a_bug():
    """At |x| ~ 1e20 one unit in the last place exceeds sin's period: no step can see sin's derivative there."""
    x = np.array([1e20, 2e20 + 1e6, 3e20])
    report = check_gradient(lambda w: float(np.sum(np.sin(w))), np.cos, x)
    assert report.bugs.size == 0 and report.inconclusive and not report.passed, str(report)
    assert "cannot resolve f" in report.verdict


def test_directional_check_takes_the_callers_bound_on_fs_rounding():
    """noise= replaces eps*max|f| in the rounding term: the tolerance moves by safety*(noise - eps*|f|)/s; a bad bound is named."""
    x = np.linspace(0.1, 1.0, 7)
    f = lambda z: np.sum(np.sin(z))  # noqa: E731
    generic = directional_check(f, np.cos, x, seed=1)
    loose = directional_check(f, np.cos, x, seed=1, noise=1e-6)
    assert generic.passed and loose.passed
    expected = 10.0 * (1e-6 - np.finfo(float).eps * abs(f(x))) / generic.step
    np.testing.assert_allclose(loose.tolerance - generic.tolerance, expected, rtol=1e-3)
    with pytest.raises(ValueError, match="noise"):
        directional_check(f, np.cos, x, noise=-1.0)
