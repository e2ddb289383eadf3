"""The tanh MLP as a problem (exact gradient and Hessian-vector product), and the IGR digits experiment."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from gc_theory.testing.strategies import seeds

from gc_theory.landscape.power_iteration import largest_eigenvalue
from gc_theory.experiments.igr import DIGITS_RESULTS, digits_igr_experiment, digits_summary, load_digits_results
from gc_theory.gradcheck import check_gradient, check_hvp
from gc_theory.problems import TanhMLP


@pytest.fixture(scope="module")
def digits():
    from gc_theory.datasets import load_digits

    return load_digits()


def _small(seed: int, n: int = 40, d: int = 5, hidden: int = 4, classes: int = 3) -> tuple[TanhMLP, np.ndarray]:
    rng = np.random.default_rng(seed)
    model = TanhMLP(rng.standard_normal((n, d)), rng.integers(0, classes, n), hidden=hidden, n_classes=classes)
    return model, model.init(seed) + 0.3 * rng.standard_normal(model.dim)


@settings(max_examples=15)
@given(seed=seeds)
def test_gradient_and_hvp_agree_with_differences(seed):
    model, theta = _small(seed)
    assert check_gradient(model.value, model.grad, theta).passed
    assert check_hvp(model.grad, model.hvp, theta, seed=seed).passed


def test_hvp_is_symmetric_and_linear():
    model, theta = _small(3)
    rng = np.random.default_rng(0)
    u, v = rng.standard_normal((2, model.dim))
    hu, hv = model.hvp(theta, u), model.hvp(theta, v)
    assert abs(u @ hv - v @ hu) <= 1e-12 * (np.linalg.norm(hu) * np.linalg.norm(v))
    np.testing.assert_allclose(model.hvp(theta, 2 * u - v), 2 * hu - hv, rtol=1e-12, atol=1e-14)


def test_against_torch_double_backward():
    torch = pytest.importorskip("torch")
    model, theta = _small(7)
    w = torch.tensor(theta, requires_grad=True)
    x = torch.tensor(model.x)
    labels = torch.tensor(np.argmax(model.onehot, axis=1))
    (d, k), _, (_, c), _ = model.shapes

    def loss(t):
        w1, b1 = t[: d * k].reshape(d, k), t[d * k: d * k + k]
        w2, b2 = t[d * k + k: d * k + k + k * c].reshape(k, c), t[d * k + k + k * c:]
        return torch.nn.functional.cross_entropy(torch.tanh(x @ w1 + b1) @ w2 + b2, labels)

    value = loss(w)
    (g,) = torch.autograd.grad(value, w, create_graph=True)
    v = torch.tensor(np.random.default_rng(1).standard_normal(model.dim))
    (hv,) = torch.autograd.grad(g @ v, w)
    assert abs(model.value(theta) - value.item()) <= 1e-14 * value.item()
    np.testing.assert_allclose(model.grad(theta), g.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(model.hvp(theta, v.numpy()), hv.numpy(), rtol=1e-11, atol=1e-14)


def test_runs_on_array_api_strict():
    xp = pytest.importorskip("array_api_strict")
    model, theta = _small(2)
    strict = TanhMLP(xp.asarray(model.x), np.argmax(model.onehot, axis=1), hidden=4, n_classes=3)
    t = xp.asarray(theta)
    np.testing.assert_allclose(np.asarray(strict.grad(t)), model.grad(theta), rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(np.asarray(strict.hvp(t, t)), model.hvp(theta, theta), rtol=1e-14, atol=1e-16)


def test_largest_eigenvalue_is_the_algebraic_largest():
    model, theta = _small(5, n=30, d=3, hidden=2)
    hessian = np.column_stack([model.hvp(theta, e) for e in np.eye(model.dim)])
    eigenvalues = np.linalg.eigvalsh(0.5 * (hessian + hessian.T))
    start = np.random.default_rng(0).standard_normal(model.dim)
    top = largest_eigenvalue(lambda v: model.hvp(theta, v), start, tol=1e-10, maxiter=20_000)
    assert abs(top - eigenvalues[-1]) <= 1e-6 * np.max(np.abs(eigenvalues))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"x": np.ones(3)}, "x must be 2-d"),
    ({"y": np.array([0, 5])}, "y must hold 2 labels"),
    ({"hidden": 0}, "hidden must"),
])
def test_bad_input(kwargs, match):
    args = {"x": np.ones((2, 3)), "y": np.array([0, 1]), "hidden": 2, "n_classes": 3} | kwargs
    with pytest.raises((ValueError, TypeError), match=match):
        TanhMLP(**args)
    model = TanhMLP(np.ones((2, 3)), np.array([0, 1]), hidden=2, n_classes=3)
    with pytest.raises(ValueError, match="theta must have shape"):
        model.grad(np.ones(model.dim + 1))


def test_a_reduced_rerun_reproduces_the_committed_seed():
    committed = load_digits_results(DIGITS_RESULTS)
    h = committed["steps"][2]
    fresh = digits_igr_experiment(seeds=[1], steps=[h], egr=None, hidden=committed["hidden"],
                                  target_loss=committed["target_loss"], noise=committed["noise"])
    (run,) = fresh["runs"]
    (old,) = [r for r in committed["runs"] if r["seed"] == 1 and r["h"] == h and r["mu"] == 0.0]
    assert run["steps"] == old["steps"]
    for key in ("train_loss", "r_ig", "test_accuracy", "test_loss", "noise_increase"):
        assert run[key] == pytest.approx(old[key], rel=1e-9, abs=1e-12), key
    # Power iteration stops at a relative residual 1e-6: its eigenvalue agrees to about that.
    assert run["sharpness"] == pytest.approx(old["sharpness"], rel=1e-5)


def test_committed_results_are_complete_and_summarised():
    results = load_digits_results()
    assert len(results["seeds"]) >= 5
    rows = digits_summary(results)
    assert len(rows) == len(results["steps"]) + 1 and all(r["reached"] for r in rows)
    smallest = min(results["steps"])
    (base,) = [r for r in rows if r["h"] == smallest and r["mu"] == 0.0]
    assert base["sharpness_delta"] == 0.0 and base["sharpness_delta_std"] == 0.0
