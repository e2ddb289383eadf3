"""The verdicts a user reads at the step they pick: never a silent pass, and the real cause named.

Each test here reproduces a case where the checker once gave a wrong or
misleading verdict: a wrong gradient passing at a large step, a step below the
spacing of x, a gradient or a function computed in a lower precision than x,
a point where no representable step resolves f, and a method without a
diagnosis.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gc_theory.gradcheck import (
    PrecisionWarning,
    check_gradient,
    check_hvp,
    directional_check,
    localize,
    numerical_gradient,
)


def f(w):
    return np.sum(np.sin(w) ** 2)


def grad(w):
    return 2 * np.sin(w) * np.cos(w)


X = np.random.default_rng(0).standard_normal(20)


# --- a step too large to see the error that matters --------------------------------


@pytest.mark.parametrize(("h", "wrong"), [
    (1.0, lambda w: -grad(w)),          # a sign flip
    (0.1, lambda w: 1.01 * grad(w)),    # a 1% error
])  # fmt: skip
def test_a_wrong_gradient_never_passes_at_a_step_too_large_to_see_it(h, wrong) -> None:
    report = check_gradient(f, wrong, X, h=h)
    assert not report.passed
    assert report.status in ("failed", "inconclusive")
    if report.status == "inconclusive":
        assert report.verdict.startswith("inconclusive")
        assert "cannot be seen" in report.verdict


def test_a_correct_gradient_at_a_step_too_large_is_inconclusive_not_passed() -> None:
    report = check_gradient(f, grad, X, h=1.0)
    assert report.status == "inconclusive" and not report.passed
    assert "INCONCLUSIVE" in str(report)


def test_the_header_shows_the_step_that_was_used() -> None:
    text = str(check_gradient(f, grad, X, h=1e-5))
    assert "nan" not in text.split("\n")[1]
    assert "h = 1e-05 (absolute)" in text


def test_a_reasonable_explicit_step_still_passes_and_fails() -> None:
    assert check_gradient(f, grad, X, h=1e-5).passed
    report = check_gradient(f, lambda w: 1.01 * grad(w), X, h=1e-5)
    assert report.status == "failed" and report.bugs.size > 0


def test_directional_check_is_inconclusive_at_a_step_too_large() -> None:
    report = directional_check(f, lambda w: -grad(w), X, h=1.0)
    assert not report.passed


# --- one spacing rule ----------------------------------------------------------------


@pytest.mark.parametrize("call", [
    lambda: numerical_gradient(f, X, h=1e-300),
    lambda: check_gradient(f, grad, X, h=1e-300),
    lambda: directional_check(f, lambda w: -grad(w), X, h=1e-300),
    lambda: localize(f, lambda w: grad(w) + (np.arange(20) == 3), X, h=1e-17),
])  # fmt: skip
def test_every_entry_point_refuses_a_step_below_the_spacing_of_x(call) -> None:
    with pytest.raises(ValueError, match="below the spacing of x"):
        call()


# --- lower precision than x ----------------------------------------------------------


def test_a_float32_gradient_for_float64_x_is_named_not_called_a_bug() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)
        report = check_gradient(f, lambda w: grad(w).astype(np.float32), X)
    assert report.bugs.size == 0, report.verdict
    assert "float32" in " ".join(report.notes) + report.verdict
    assert report.passed


def test_a_float32_f_for_float64_x_gets_one_verdict_from_every_checker() -> None:
    f32 = lambda w: np.float32(f(w))  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)
        full = check_gradient(f32, grad, X)
        along = directional_check(f32, grad, X)
        found = localize(f32, grad, X)
    assert full.passed and along.passed and found.indices.size == 0, (full.verdict, along.verdict, found.verdict)
    assert "float32" in " ".join(full.notes) + full.verdict
    assert "float32" in along.verdict


def test_wrong_gradients_still_fail_when_f_is_float32() -> None:
    f32 = lambda w: np.float32(f(w))  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)
        assert not check_gradient(f32, lambda w: -grad(w), X).passed
        assert not directional_check(f32, lambda w: -grad(w), X).passed


def test_no_representable_step_resolves_f_far_from_the_origin() -> None:
    x = np.full(3, 1e20)
    report = check_gradient(f, grad, x)
    assert report.bugs.size == 0 and not report.passed
    assert report.status == "inconclusive"
    assert "resolve" in report.verdict


# --- verdict wording --------------------------------------------------------------------


@pytest.mark.parametrize("method", ["forward", "complex"])
def test_methods_without_a_diagnosis_do_not_offer_one(method) -> None:
    report = check_gradient(f, lambda w: -grad(w), X, method=method)
    assert not report.passed
    assert "max_diagnose" not in report.verdict
    assert "method='central'" in report.verdict


def test_verdict_grammar_for_one_entry() -> None:
    relu = lambda w: np.sum(np.maximum(w, 0.0))  # noqa: E731
    x = np.array([0.0, 1.0, 2.0])
    report = check_gradient(relu, lambda w: (w > 0).astype(float), x)
    assert "1 sits at" in report.verdict, report.verdict
    assert " 1 are " not in report.verdict and "1 sit " not in report.verdict
    assert "inf" not in str(report).split("\n", 3)[3]


# --- bad arguments, each named ------------------------------------------------------------


BAD = [
    (check_gradient, dict(batch_size=0), ValueError, "batch_size"),
    (check_gradient, dict(noise=-1.0), ValueError, "noise"),
    (check_gradient, dict(probes=0), ValueError, "probes"),
    (check_gradient, dict(probes=-3), ValueError, "probes"),
    (check_gradient, dict(probes=[0, 99]), ValueError, "probes"),
    (check_gradient, dict(entries=[1.5, 2]), TypeError, "entries"),
    (check_gradient, dict(entries=[0, 20]), ValueError, "entries"),
    (check_gradient, dict(safety=0.0), ValueError, "safety"),
    (check_gradient, dict(safety=-1.0), ValueError, "safety"),
    (check_gradient, dict(max_diagnose=-1), ValueError, "max_diagnose"),
    (check_gradient, dict(pieces="relu"), TypeError, "pieces"),
    (check_gradient, dict(seed=-1), ValueError, "seed"),
    (directional_check, dict(safety=0.0), ValueError, "safety"),
    (directional_check, dict(seed=-1), ValueError, "seed"),
    (directional_check, dict(pieces=3), TypeError, "pieces"),
    (localize, dict(max_evaluations=0), ValueError, "max_evaluations"),
    (localize, dict(directions=0), ValueError, "directions"),
]  # fmt: skip


@pytest.mark.parametrize(("fn", "kwargs", "error", "match"), BAD, ids=[f"{b[0].__name__}-{next(iter(b[1]))}" for b in BAD])
def test_bad_arguments_are_named(fn, kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        fn(f, grad, X, **kwargs)


@pytest.mark.parametrize("returned", [None, "1.0", [1.0]])
def test_f_returning_no_number_is_named(returned) -> None:
    with pytest.raises((TypeError, ValueError), match="f must return"):
        check_gradient(lambda w: returned, grad, X)


def test_a_0d_point_works_everywhere() -> None:
    x = np.asarray(0.3)
    g = numerical_gradient(np.sin, x)
    assert g.shape == () and abs(float(g) - np.cos(0.3)) < 1e-9
    assert check_gradient(np.sin, np.cos, x).passed
    assert directional_check(np.sin, np.cos, x).passed


def test_check_hvp_names_a_negative_seed() -> None:
    with pytest.raises(ValueError, match="seed"):
        check_hvp(grad, lambda w, v: 2 * np.cos(2 * w) * v, X, seed=-1)
