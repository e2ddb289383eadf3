import numpy as np
import pytest

from gc_theory.optim.clipping import clip_grad_norm, clip_grad_value

torch = pytest.importorskip("torch")


def _grads(seed):
    rng = np.random.default_rng(seed)
    return {"a": rng.normal(size=(3, 4)) * 5, "b": rng.normal(size=7)}


@pytest.mark.parametrize("norm_type", [2.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.1, 1.0, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    g = _grads(0)
    ours, total = clip_grad_norm(g, max_norm, norm_type)
    ts = [torch.zeros(v.shape, dtype=torch.float64, requires_grad=True) for v in g.values()]
    for t, v in zip(ts, g.values()):
        t.grad = torch.tensor(v)
    ttotal = torch.nn.utils.clip_grad_norm_(ts, max_norm, norm_type)
    assert total == pytest.approx(float(ttotal), rel=1e-14)
    for t, k in zip(ts, g):
        np.testing.assert_allclose(ours[k], t.grad.numpy(), rtol=1e-14, atol=0)
    assert not np.shares_memory(ours["a"], g["a"])


def test_clip_grad_value_matches_torch():
    g = _grads(1)
    ours = clip_grad_value(g, 2.0)
    ts = [torch.zeros(v.shape, dtype=torch.float64, requires_grad=True) for v in g.values()]
    for t, v in zip(ts, g.values()):
        t.grad = torch.tensor(v)
    torch.nn.utils.clip_grad_value_(ts, 2.0)
    for t, k in zip(ts, g):
        np.testing.assert_array_equal(ours[k], t.grad.numpy())


def test_bad_input():
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm({"a": np.ones(2)}, -1.0)
    with pytest.raises(TypeError, match="grads"):
        clip_grad_value([np.ones(2)], 1.0)
