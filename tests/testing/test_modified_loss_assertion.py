"""assert_modified_loss: the first-order modified gradient passes at every drawn problem; wrong coefficients are
caught with the coefficient named; misuse is a TypeError/ValueError."""

from __future__ import annotations

import numpy as np
import pytest

from gc_theory.problems import Quartic
from gc_theory.testing import assert_modified_loss


def _quartic(seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 2.0, 3)
    grad = lambda t: a * t**3 + t  # noqa: E731
    hvp = lambda t, v: (3 * a * t**2 + 1) * v  # noqa: E731
    return grad, hvp, rng.uniform(-1.0, 1.0, 3)


@pytest.mark.parametrize("seed", range(30))
def test_the_modified_gradient_passes_at_every_seed(seed):
    grad, hvp, theta = _quartic(seed)
    assert assert_modified_loss(lambda t, h: grad(t) + (h / 2) * hvp(t, grad(t)), grad, theta).passed


def test_the_toolkits_problem_and_modified_loss_pass():
    from gc_theory.igr import modified_loss

    problem = Quartic([0.5, 1.0, 2.0], c=1.0, seed=1)
    theta = np.array([0.3, -0.4, 0.5])
    assert assert_modified_loss(lambda t, h: modified_loss(problem, h).grad(t), problem.grad, theta).passed


@pytest.mark.parametrize(("c", "hint"), [(0.0, "correction is missing"), (1.0, "(h/2)||grad L||^2 in place of (h/4)"),
                                          (0.25, "it is (h/2) H grad L"), (-0.5, "sign is flipped")])
def test_wrong_coefficients_are_caught_and_named(c, hint):
    grad, hvp, theta = _quartic(0)
    with pytest.raises(AssertionError) as info:
        assert_modified_loss(lambda t, h: grad(t) + c * h * hvp(t, grad(t)), grad, theta)
    text = str(info.value)
    assert "not 3" in text and hint in text, text


def test_a_torch_modified_gradient_is_checked_in_torch_arrays():
    torch = pytest.importorskip("torch")

    def modified(t, h):
        t = t.detach().clone().requires_grad_(True)
        L = torch.sum(t**4 / 4 + t**2 / 2)
        (g,) = torch.autograd.grad(L, t, create_graph=True)
        (total,) = torch.autograd.grad(L + (h / 4) * torch.sum(g * g), t)
        return total

    assert assert_modified_loss(modified, lambda t: t**3 + t, torch.tensor([0.8, -0.5], dtype=torch.float64),
                                xp=torch).passed


def test_misuse_and_bad_outputs():
    grad, hvp, theta = _quartic(0)
    with pytest.raises(TypeError, match="theta0"):
        assert_modified_loss(grad, grad, [0.1, 0.2])
    with pytest.raises(ValueError, match="1-d"):
        assert_modified_loss(lambda t, h: grad(t), grad, np.ones((2, 2)))
    with pytest.raises(ValueError, match="lambda_max"):
        assert_modified_loss(lambda t, h: grad(t), grad, theta, lambda_max=-1.0)
    with pytest.raises(AssertionError, match="expected an array of shape"):
        assert_modified_loss(lambda t, h: grad(t)[:1], grad, theta)
    with pytest.raises(AssertionError, match="NaN or Inf"):
        assert_modified_loss(lambda t, h: grad(t) * np.nan, grad, theta)


def test_an_inconclusive_gradient_check_fails_unless_allowed_and_says_why():
    from gc_theory.testing import assert_gradient

    x = np.array([1e8, 2e8], dtype=np.float32)  # one spacing of x moves sin(x) by its whole range
    f = lambda x: float(np.sum(np.sin(x.astype(np.float64))))  # noqa: E731
    g = lambda x: np.cos(x.astype(np.float64)).astype(np.float32)  # noqa: E731
    with pytest.raises(AssertionError) as info:
        assert_gradient(f, g, x)
    text = str(info.value)
    assert "inconclusive" in text and "cannot resolve f" in text and "allow_inconclusive=True" in text
    accepted = assert_gradient(f, g, x, allow_inconclusive=True)
    assert accepted.passed and accepted.tolerance == float("inf") and "inconclusive" in accepted.detail
