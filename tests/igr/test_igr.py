"""Modified losses, modified fields, flows and momentum iterations of gc_theory.igr."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from gc_theory.testing.strategies import seeds

from gc_theory.verify.order_fit import fit_order, geometric_ladder
from gc_theory.gradcheck import check_gradient, check_hvp
from gc_theory.igr import (
    MeanLoss,
    FlowError,
    explicit_regularization,
    flow,
    gradient_descent,
    modified_field,
    modified_loss,
    momentum_coefficient,
    momentum_descent,
    one_step_errors,
    rk4,
    sgd_modified_loss,
)
from gc_theory.problems import Quadratic, Quartic, TwoParameter

QUARTIC = Quartic([0.5, 1.0, 2.0], c=1.0, seed=1)


@given(seed=seeds, mu=st.floats(0.0, 2.0))
def test_explicit_regularization_gradient_and_hvp(seed, mu):
    theta = np.random.default_rng(seed).uniform(-0.7, 0.7, 3)
    penalised = explicit_regularization(QUARTIC, mu)
    g = QUARTIC.grad(theta)
    assert abs(penalised.value(theta) - QUARTIC.value(theta) - mu * g @ g) <= 1e-14 * (1 + penalised.value(theta))
    assert check_gradient(penalised.value, penalised.grad, theta).passed
    assert check_hvp(penalised.grad, penalised.hvp, theta, seed=seed).passed


def test_modified_loss_is_a_quarter_step_penalty():
    theta = np.array([0.3, -0.2, 0.5])
    h = 0.1
    loss = modified_loss(QUARTIC, h)
    g = QUARTIC.grad(theta)
    np.testing.assert_allclose(loss.grad(theta), g + 0.5 * h * QUARTIC.hvp(theta, g), rtol=1e-15)
    np.testing.assert_allclose(modified_field(QUARTIC, h)(theta), -loss.grad(theta), rtol=1e-15)


def test_sgd_modified_loss_is_the_mean_plus_the_batch_penalty():
    batches = [Quartic([1.0, 2.0], c=c, seed=s) for s, c in ((0, 0.5), (1, 1.5), (2, -0.3))]
    theta = np.array([0.4, -0.3])
    h = 0.05
    sgd = sgd_modified_loss(batches, h)
    mean = np.mean([b.value(theta) for b in batches])
    penalty = h / (4 * 3) * sum(b.grad(theta) @ b.grad(theta) for b in batches)
    assert abs(sgd.value(theta) - (mean + penalty)) <= 1e-15 * 4
    assert check_gradient(sgd.value, sgd.grad, theta).passed


def test_second_order_field_formula():
    theta = np.array([0.3, -0.2, 0.5])
    h = 0.05
    g = QUARTIC.grad(theta)
    hg = QUARTIC.hvp(theta, g)
    expected = -g - 0.5 * h * hg - h * h * (QUARTIC.hvp(theta, hg) / 3 + QUARTIC.third(theta, g, g) / 12)
    np.testing.assert_allclose(modified_field(QUARTIC, h, order=2)(theta), expected, rtol=1e-15)


@pytest.mark.parametrize(("method", "beta", "value"), [
    ("gd", 0.0, 0.25), ("heavy_ball", 0.0, 0.25), ("nesterov", 0.0, 0.25),
    ("heavy_ball", 0.5, 1.5), ("nesterov", 0.5, 1.0), ("heavy_ball", 0.9, 47.5), ("nesterov", 0.9, 43.0),
])
def test_momentum_coefficients(method, beta, value):
    assert momentum_coefficient(method, beta) == pytest.approx(value, rel=1e-12)


def test_local_error_orders_of_gd():
    theta0 = np.array([0.4, -0.3, 0.2])
    steps = geometric_ladder(0.05, 5)
    step = lambda t, h: t - h * QUARTIC.grad(t)  # noqa: E731
    for order in (0, 1, 2):
        errors, floors = one_step_errors(step, lambda h, k=order: modified_field(QUARTIC, h, order=k), theta0, steps)
        assert fit_order(steps, errors, rounding_floor=floors).measure(order + 2).passed


def test_flow_of_a_linear_field_is_the_exponential():
    q = Quadratic([0.5, 1.0, 3.0], seed=2)
    theta0 = np.array([1.0, -1.0, 0.5])
    result = flow(lambda t: -q.grad(t), theta0, 2.0)
    exact = q.eigenvectors @ (np.exp(-2.0 * q.spectrum) * (q.eigenvectors.T @ theta0))
    error = float(np.max(np.abs(result.theta - exact)))
    assert error <= 10 * result.error + 1e-15
    assert result.error < 1e-11
    assert type(result.error) is float and result.nfev > 0


def test_rk4_is_fourth_order():
    field = lambda t: -t**3  # noqa: E731
    exact = 1.0 / np.sqrt(1.0 + 2.0 * 1.0)  # y' = -y^3, y(0) = 1 at t = 1
    steps = np.array([8, 16, 32, 64])
    errors = [abs(float(rk4(field, [1.0], 1.0, int(n))[0]) - exact) for n in steps]
    assert fit_order(1.0 / steps, errors).measure(4).passed


def test_flow_blow_up_reports_time_and_reason():
    with pytest.raises(FlowError, match=r"stopped at t=(0\.9|1)\b.*of T=2"):
        flow(lambda t: t**2, [1.0], 2.0)  # y = 1/(1 - t) blows up at t = 1


def test_momentum_descent_matches_torch():
    torch = pytest.importorskip("torch")
    theta0 = np.array([0.5, -0.4, 0.3])
    for nesterov in (False, True):
        param = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([param], lr=0.05, momentum=0.7, nesterov=nesterov)
        a = torch.tensor(QUARTIC.matrix)
        for _ in range(20):
            opt.zero_grad()
            loss = 0.5 * param @ a @ param + 0.25 * QUARTIC.c * (param**4).sum()
            loss.backward()
            opt.step()
        ours = momentum_descent(QUARTIC, theta0, 0.05, 20, beta=0.7, method="nesterov" if nesterov else "heavy_ball",
                                warm=False)[-1]
        np.testing.assert_allclose(ours, param.detach().numpy(), rtol=1e-13, atol=1e-15)


def test_two_parameter_gd_contracts_the_conserved_quantity():
    p = TwoParameter(1.0, 1.0)
    path = gradient_descent(p, [1.8, 0.2], 0.1, 30)
    for before, after in zip(path[:-1], path[1:], strict=True):
        factor = 1 - (0.1 * p.residual(before)) ** 2
        assert abs(p.conserved(after) - factor * p.conserved(before)) <= 1e-14 * (before @ before)


class NoHvp:
    def value(self, theta):
        return float(theta @ theta)

    def grad(self, theta):
        return 2 * theta


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: modified_field(QUARTIC, 0.0), ValueError, "h must"),
    (lambda: modified_field(QUARTIC, np.nan), ValueError, "h must"),
    (lambda: modified_field(QUARTIC, 0.1, method="adamw"), ValueError, "method must"),
    (lambda: modified_field(QUARTIC, 0.1, method="heavy_ball", beta=1.0), ValueError, "beta must"),
    (lambda: modified_field(QUARTIC, 0.1, method="heavy_ball", beta=-0.1), ValueError, "beta must"),
    (lambda: modified_field(QUARTIC, 0.1, beta=0.5), ValueError, "beta must be 0"),
    (lambda: modified_field(QUARTIC, 0.1, order=3), ValueError, "order must be <= 2"),
    (lambda: modified_field(QUARTIC, 0.1, method="nesterov", beta=0.5, order=2), ValueError, "order must be <= 1"),
    (lambda: modified_field(QUARTIC, 0.5, lambda_max=2.0), ValueError, "backward error analysis does not apply"),
    (lambda: modified_field(Quadratic([4.0]), 0.3), ValueError, "lambda_max < 1"),
    (lambda: modified_field(NoHvp(), 0.1), TypeError, r"\.hvp.*order 1"),
    (lambda: modified_field(NoHvp(), 0.1, order=0), None, None),
    (lambda: modified_loss(NoHvp(), 0.1), TypeError, r"\.hvp"),
    (lambda: modified_loss(QUARTIC, -1.0), ValueError, "h must"),
    (lambda: explicit_regularization(QUARTIC, -1.0), ValueError, "mu must"),
    (lambda: explicit_regularization(Quartic([1.0]), 0.1).hvp(np.ones(1), np.ones(1)), None, None),
    (lambda: sgd_modified_loss([], 0.1), ValueError, "batch_problems"),
    (lambda: sgd_modified_loss([QUARTIC, NoHvp()], 0.1), TypeError, r"batch_problems\[1\]"),
    (lambda: flow(lambda t: -t, [1.0, np.inf], 1.0), ValueError, "theta0 must be finite"),
    (lambda: flow(lambda t: -t, [1.0], -1.0), ValueError, "T must"),
    (lambda: flow(lambda t: -t, [1.0], 1.0, rtol=1e-16), ValueError, "rtol must"),
    (lambda: flow("field", [1.0], 1.0), TypeError, "field must"),
    (lambda: gradient_descent(QUARTIC, [[1.0]], 0.1, 3), ValueError, "theta0 must be 1-d"),
    (lambda: momentum_descent(QUARTIC, [1.0, 0, 0], 0.1, 3, beta=1.5), ValueError, "beta must"),
])
def test_bad_input(call, error, match):
    if error is None:
        call()
        return
    with pytest.raises(error, match=match):
        call()


def test_penalty_hvp_needs_third():
    with pytest.raises(TypeError, match=r"\.third"):
        explicit_regularization(_HvpOnly(), 0.1).hvp(np.ones(2), np.ones(2))


class _HvpOnly(NoHvp):
    def hvp(self, theta, v):
        return 2 * v


def test_shuffling_averages_over_every_ordering():
    from gc_theory.igr import epoch, partitions, shuffled_epoch_mean

    examples = [Quartic([1.0, 2.0], c=0.5, seed=i) for i in range(4)]
    theta0 = np.array([0.3, -0.2])
    assert len(partitions(4, 2)) == 3 and len(partitions(6, 2)) == 15
    # One example per batch: the mean over orderings is symmetric in the examples.
    mean = shuffled_epoch_mean(examples, theta0, 0.1, 2)
    assert np.allclose(mean, shuffled_epoch_mean(examples[::-1], theta0, 0.1, 2), rtol=1e-14, atol=1e-16)
    # A full batch: every ordering is plain GD on the mean loss.
    gd = gradient_descent(MeanLoss(examples), theta0, 0.1, 1)[-1]
    np.testing.assert_allclose(epoch(examples, (2, 0, 3, 1), theta0, 0.1, 4), gd, rtol=1e-14)
    with pytest.raises(ValueError, match="batch_size must divide"):
        shuffled_epoch_mean(examples, theta0, 0.1, 3)
    with pytest.raises(ValueError, match="examples must hold"):
        shuffled_epoch_mean(examples * 3, theta0, 0.1, 2)


@pytest.mark.parametrize("seed", [1, 2])
def test_igr_claims_hold_for_other_seeds(seed):
    from gc_theory import claims

    for result in claims.run_claims([c for c in claims.select("igr.") if c.runs_on != "sympy"], seed=seed):
        assert result.ok, (result.id, result.detail, result.control_detail, result.error)
