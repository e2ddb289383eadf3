"""The problems' derivatives against the library's checkers, on every backend, and against torch autograd."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from gc_theory.core.backend import array_namespace, to_numpy
from gc_theory.verify.context import Context
from gc_theory.gradcheck import check_gradient, check_hvp
from gc_theory.problems import (
    LinearModelLoss,
    Problem,
    logistic_loss,
    quartic_loss,
    squared_loss,
    tanh_loss,
)

N, D = 12, 5


def _squared(ctx: Context) -> LinearModelLoss:
    return squared_loss(ctx.normal(N, D), ctx.normal(N), ridge=0.3)


def _logistic(ctx: Context) -> LinearModelLoss:
    return logistic_loss(ctx.normal(N, D), ctx.asarray(ctx.rng.choice([-1.0, 1.0], N)), ridge=0.1)


def _tanh(ctx: Context) -> LinearModelLoss:
    return tanh_loss(0.5 * ctx.normal(N, D), 0.5 * ctx.normal(N))


def _quartic(ctx: Context) -> LinearModelLoss:
    return quartic_loss(0.5 * ctx.normal(N, D), ctx.normal(N))


FAMILIES: dict[str, Callable[[Context], LinearModelLoss]] = {
    "squared": _squared,
    "logistic": _logistic,
    "tanh": _tanh,
    "quartic": _quartic,
}


def _setup(name: str, backend: str = "numpy") -> tuple[LinearModelLoss, Any, Any, Any]:
    ctx = Context.create(backend, "float64", seed=3, salt=f"problem {name}")
    problem = FAMILIES[name](ctx)
    return problem, ctx.normal(D), ctx.normal(D), ctx.normal(D)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_grad_hvp_third_pass_the_checkers(name: str, backend: str) -> None:
    problem, theta, u, v = _setup(name, backend)
    assert isinstance(problem, Problem)
    assert check_gradient(problem.value, problem.grad, theta).passed
    assert check_hvp(problem.grad, problem.hvp, theta, v).passed
    # The third contraction is the derivative of theta -> H(theta) v along u, so check_hvp checks it.
    third = check_hvp(lambda t: problem.hvp(t, v), lambda t, w: problem.third(t, w, v), theta, u)
    assert third.passed, third.verdict


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_results_stay_in_the_callers_namespace(name: str, backend: str) -> None:
    problem, theta, u, v = _setup(name, backend)
    xp = array_namespace(theta)
    for out in (problem.grad(theta), problem.hvp(theta, v), problem.third(theta, u, v)):
        assert array_namespace(out) is xp and out.shape == (D,) and out.dtype == theta.dtype


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_a_wrong_hvp_is_caught(name: str) -> None:
    problem, theta, _, v = _setup(name)
    report = check_hvp(problem.grad, lambda t, w: 1.5 * problem.hvp(t, w), theta, v)
    assert not report.passed


def test_third_is_symmetric_and_vanishes_for_least_squares() -> None:
    problem, theta, u, v = _setup("tanh")
    np.testing.assert_allclose(problem.third(theta, u, v), problem.third(theta, v, u), rtol=1e-13, atol=1e-15)
    ls, theta, u, v = _setup("squared")
    assert float(np.max(np.abs(ls.third(theta, u, v)))) == 0.0


def test_logistic_value_does_not_overflow() -> None:
    X = np.array([[1e3], [-1e3]])
    value = float(logistic_loss(X, np.array([-1.0, 1.0])).value(np.array([1.0])))
    assert value == pytest.approx(1e3, rel=1e-15)


def test_negative_ridge_is_refused() -> None:
    with pytest.raises(ValueError, match="ridge"):
        squared_loss(np.eye(2), np.ones(2), ridge=-1.0)


def test_a_users_own_object_satisfies_the_protocol() -> None:
    class Bowl:
        def value(self, theta: Any) -> Any:
            return 0.5 * np.sum(theta * theta)

        def grad(self, theta: Any) -> Any:
            return theta

        def hvp(self, theta: Any, v: Any) -> Any:
            return v

    assert isinstance(Bowl(), Problem)


@pytest.mark.parametrize("name", sorted(FAMILIES))
# torch's own softplus path warns about its scripting internals: nothing the oracle's answer depends on.
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_against_torch_autograd(name: str) -> None:
    torch = pytest.importorskip("torch")
    problem, theta, u, v = _setup(name)
    X = torch.from_numpy(to_numpy(problem.X))

    def f(t: Any) -> Any:
        # The same loss rebuilt from its definition in torch, independent of the links' derivatives.
        z = X @ t
        y = torch.from_numpy(to_numpy(problem.y))
        if name == "squared":
            phi = 0.5 * (z - y) ** 2
        elif name == "logistic":
            phi = torch.nn.functional.softplus(-y * z)
        elif name == "tanh":
            phi = 0.5 * (torch.tanh(z) - y) ** 2
        else:
            r = z - y
            phi = 0.25 * r**4 - 0.5 * r**2
        return phi.mean() + 0.5 * problem.ridge * (t * t).sum()

    t = torch.from_numpy(np.array(theta))
    tu, tv = torch.from_numpy(np.array(u)), torch.from_numpy(np.array(v))
    g = torch.func.grad(f)
    hv = lambda s: torch.func.jvp(g, (s,), (tv,))[1]  # noqa: E731
    third = torch.func.jvp(hv, (t,), (tu,))[1]
    np.testing.assert_allclose(problem.value(theta), f(t).item(), rtol=1e-13)
    np.testing.assert_allclose(problem.grad(theta), g(t).numpy(), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(problem.hvp(theta, v), hv(t).numpy(), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(problem.third(theta, u, v), third.numpy(), rtol=1e-11, atol=1e-13)

