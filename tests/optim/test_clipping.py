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


@pytest.mark.parametrize("clip", ["norm", "value"])
def test_sgd_momentum_with_clipping_matches_torch_over_50_steps(clip):
    from gc_theory import optim

    rng = np.random.default_rng(2)
    A = rng.normal(size=(6, 6))
    H = A @ A.T + np.eye(6)
    w0 = rng.normal(size=6) * 3
    opt = optim.SGD(lr=0.05, momentum=0.9)
    params = {"w": w0.copy()}
    state = opt.init(params)
    tw = torch.tensor(w0.copy(), requires_grad=True)
    topt = torch.optim.SGD([tw], lr=0.05, momentum=0.9)
    for _ in range(50):
        g = {"w": H @ params["w"]}
        g = clip_grad_norm(g, 1.0)[0] if clip == "norm" else clip_grad_value(g, 0.5)
        params, state = opt.step(params, g, state)
        topt.zero_grad()
        (0.5 * tw @ torch.tensor(H) @ tw).backward()
        if clip == "norm":
            torch.nn.utils.clip_grad_norm_([tw], 1.0)
        else:
            torch.nn.utils.clip_grad_value_([tw], 0.5)
        topt.step()
    np.testing.assert_allclose(params["w"], tw.detach().numpy(), rtol=1e-12, atol=1e-12)
