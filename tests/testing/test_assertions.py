"""gc_theory.testing: wrong implementations are caught with a message naming the mistake; right ones pass."""

from __future__ import annotations

import numpy as np
import pytest

from gc_theory.testing import assert_centralizes, assert_gradient, assert_hvp, assert_projection


def _gc_loop(g):
    """GC written another way: a Python loop over units, summed in reverse order."""
    if g.ndim < 2:
        return g
    flat = g.reshape(g.shape[0], -1)
    out = np.empty_like(flat)
    for i, row in enumerate(flat):
        mean = sum(row[::-1].tolist()) / row.size
        out[i] = row - row.dtype.type(mean)
    return out.reshape(g.shape)


@pytest.mark.parametrize("seed", range(30))
def test_a_correct_gc_in_another_style_passes_at_every_seed(seed):
    assert assert_centralizes(_gc_loop, seed=seed, examples=8).passed


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda g: g - g.mean(axis=0, keepdims=True), "output-unit axis"),
        (lambda g: g - g.sum(axis=tuple(range(1, g.ndim)), keepdims=True) if g.ndim > 1 else g, "sum instead of the mean"),
        (lambda g: g - g.mean(axis=tuple(range(1, g.ndim)), keepdims=True) if g.ndim == 2 else g, "unchanged"),
        (lambda g: g - g.mean(axis=tuple(range(1, g.ndim)), keepdims=True) if g.ndim > 1 else g - g.mean(), "bias"),
    ],
    ids=["wrong-axis", "sum", "skips-conv", "centralises-bias"],
)
def test_wrong_gc_is_caught_with_the_mistake_named(wrong, hint):
    with pytest.raises(AssertionError) as info:
        assert_centralizes(wrong)
    text = str(info.value)
    assert "case:" in text and "measured" in text and "allowed" in text and " eps" in text
    assert hint in text


def test_a_keras_layout_with_the_pytorch_axes_is_diagnosed():
    with pytest.raises(AssertionError, match="output-unit axis|output-first layout"):
        assert_centralizes(lambda g: g - g.mean(axis=tuple(range(1, g.ndim)), keepdims=True) if g.ndim > 1 else g, axis=-1)
    assert assert_centralizes(lambda g: g - g.mean(axis=tuple(range(g.ndim - 1)), keepdims=True) if g.ndim > 1 else g,
                              axis=-1).passed


def test_mutating_raising_and_wrong_dtype_implementations_are_the_implementations_fault():
    def inplace(g):
        g -= g.mean(axis=tuple(range(1, g.ndim)), keepdims=True) if g.ndim > 1 else 0
        return g.copy()

    with pytest.raises(AssertionError, match="modified its input"):
        assert_centralizes(inplace)
    with pytest.raises(AssertionError, match="raised ZeroDivisionError"):
        assert_centralizes(lambda g: 1 / 0)
    with pytest.raises(AssertionError, match="dtype float64, expected float32"):
        assert_centralizes(lambda g: _gc_loop(g).astype(np.float64), dtypes=("float32",))
    with pytest.raises(AssertionError, match="non-finite"):
        assert_centralizes(lambda g: g * np.nan)


def test_misuse_of_the_assertion_is_a_type_or_value_error():
    with pytest.raises(TypeError, match="axis"):
        assert_centralizes(_gc_loop, axis=(1, 2))
    with pytest.raises(ValueError, match="slack"):
        assert_centralizes(_gc_loop, slack=0.5)
    with pytest.raises(TypeError, match="fn"):
        assert_centralizes("not callable")


def test_torch_gc_is_checked_in_torch_arrays():
    torch = pytest.importorskip("torch")
    def torch_gc(g):
        return g - g.mean(dim=tuple(range(1, g.ndim)), keepdim=True) if g.ndim > 1 else g
    assert assert_centralizes(torch_gc, xp=torch).passed
    with pytest.raises(AssertionError, match="output-unit axis"):
        assert_centralizes(lambda g: g - g.mean(dim=0, keepdim=True), xp=torch)


@pytest.mark.parametrize("seed", range(30))
def test_projections_written_another_way_pass(seed):
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(int(rng.integers(2, 12)))
    n = u / np.linalg.norm(u)
    assert assert_projection(lambda x: x - n * (n @ x), u).passed


@pytest.mark.parametrize(("make", "hint"), [
    (lambda u: np.eye(u.size), "identity"),
    (lambda u: np.eye(u.size) - 2 * np.outer(u, u) / (u @ u), "reflection"),
    (lambda u: np.eye(u.size) - np.outer(u, u), "not normalised"),
], ids=["identity", "reflection", "unnormalised"])
def test_wrong_projections_are_named(make, hint):
    u = np.array([1.0, 2.0, -2.0, 0.5])
    with pytest.raises(AssertionError, match=hint):
        assert_projection(make(u), u)


X = np.random.default_rng(1).standard_normal((7, 3))


def _f(p):
    return float(np.sum(np.tanh(X @ p["W"] + p["b"]) ** 2))


def _grad(p):
    z = X @ p["W"] + p["b"]
    d = 2 * np.tanh(z) * (1 - np.tanh(z) ** 2)
    return {"W": X.T @ d, "b": d.sum(axis=0)}


def _params(seed):
    rng = np.random.default_rng(seed)
    return {"W": rng.standard_normal((3, 3)) / 2, "b": rng.standard_normal(3) / 2}


@pytest.mark.parametrize("seed", range(30))
def test_a_correct_dict_gradient_passes_at_every_seed(seed):
    assert assert_gradient(_f, _grad, _params(seed)).passed


def test_a_transposed_block_and_a_factor_two_are_named():
    with pytest.raises(AssertionError, match="gradient of 'W' is transposed") as info:
        assert_gradient(_f, lambda p: {"W": _grad(p)["W"].T, "b": _grad(p)["b"]}, _params(0))
    assert "W[" in str(info.value) and "analytic" in str(info.value)
    with pytest.raises(AssertionError, match="gradient of 'b' is off by a factor 2"):
        assert_gradient(_f, lambda p: {"W": _grad(p)["W"], "b": 2 * _grad(p)["b"]}, _params(0))
    with pytest.raises(AssertionError, match="keys"):
        assert_gradient(_f, lambda p: {"W": _grad(p)["W"]}, _params(0))


def test_hvp_wrong_factor_is_named():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    x = np.array([0.5, -1.0])
    assert assert_hvp(lambda x: A @ x, lambda x, v: A @ v, x).passed
    with pytest.raises(AssertionError, match="2 times H v"):
        assert_hvp(lambda x: A @ x, lambda x, v: 2 * A @ v, x)


def test_the_assertions_import_without_hypothesis():
    import subprocess
    import sys

    code = ("import sys; sys.modules['hypothesis'] = None\n"
            "import gc_theory.testing as t\n"
            "import numpy as np\n"
            "assert t.assert_centralizes(lambda g: g - g.mean(axis=tuple(range(1, g.ndim)), keepdims=True) if g.ndim > 1 else g).passed\n"
            "try:\n    import gc_theory.testing.strategies\nexcept ImportError:\n    print('strategies need hypothesis')\n")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "strategies need hypothesis" in out.stdout
