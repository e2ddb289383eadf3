"""The textbook recipe errs at both ends; check_gradient does not (claim gradcheck.textbook_recipe)."""

from __future__ import annotations

import numpy as np
import pytest

from gc_theory.claims import get_claim
from gc_theory.gradcheck import check_gradient
from gc_theory.gradcheck.textbook import recipe_problem, textbook_recipe


@pytest.mark.parametrize("seed", [0, 1])
def test_rounding_end_recipe_calls_a_correct_gradient_a_bug(seed: int) -> None:
    p = recipe_problem("rounding", np.random.default_rng(seed), np)
    v = textbook_recipe(p.f, p.grad, p.x)
    # Rounding eps|f|/h with |f| ~ 1600: about 1e-6 at h = 1e-7, and ten times that at h = 1e-8.
    assert 3e-7 < v.error < 1e-5
    assert v.error_shrunk > 3 * v.error
    assert v.verdict == "bug" and not v.accepted and v.evaluations == 4000
    assert check_gradient(p.f, p.grad, p.x).passed


def test_threshold_end_recipe_accepts_a_sign_flip() -> None:
    p = recipe_problem("threshold", np.random.default_rng(3), np)
    assert 5e-10 < float(-p.grad[p.flipped]) < 2e-9
    v = textbook_recipe(p.f, p.grad, p.x)
    assert v.accepted and v.verdict == "accepted" and v.error_shrunk is None
    report = check_gradient(p.f, p.grad, p.x)
    assert not report.passed and report.bugs.tolist() == [p.flipped]


def test_recipe_accepts_truncation_that_falls_100x() -> None:
    # f = sum exp(10 w) at h = 1e-2: truncation 1000 e^{10w} h^2/6 ~ 0.3 > h, rounding ~1e-12; h/10 lowers it 100x.
    x = np.array([0.3, 0.1])
    v = textbook_recipe(lambda w: np.sum(np.exp(10 * w)), 10 * np.exp(10 * x), x, h=1e-2)
    assert v.error > 1e-2 and v.verdict == "truncation" and v.accepted
    assert 95 < v.drop < 105


def test_claim_verified() -> None:
    r = get_claim("gradcheck.textbook_recipe").run()
    assert r.passed and r.control_failed, r


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"x": np.zeros((2, 2))}, ValueError, "x must be a non-empty 1-d"),
        ({"x": np.array([1, 2])}, TypeError, "x must have a real floating dtype"),
        ({"grad": np.zeros(3)}, ValueError, "grad must have x's shape"),
        ({"h": -1.0}, ValueError, "h"),
        ({"shrink": 1.0}, ValueError, "shrink"),
        ({"f": 3}, TypeError, "f"),
    ],
)
def test_bad_input(kwargs: dict, exc: type, match: str) -> None:
    args = {"f": lambda w: np.sum(w), "grad": np.ones(2), "x": np.ones(2)} | kwargs
    with pytest.raises(exc, match=match):
        textbook_recipe(args.pop("f"), args.pop("grad"), args.pop("x"), **args)


def test_recipe_problem_rejects_unknown_end() -> None:
    with pytest.raises(ValueError, match="end must be"):
        recipe_problem("middle", np.random.default_rng(0), np)
