"""Oracle: every catalogue case's value and gradients against torch autograd (float64, 1e-10 relative)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gc_theory.models import (
    BatchNorm,
    Conv2d,
    Flatten,
    Linear,
    MeanOnlyBatchNorm,
    MeanSquaredError,
    Network,
    ReLU,
    Sequential,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
    WeightNorm,
    catalogue,
)
from gc_theory.models.catalogue import CentralizedLinear
from gc_theory.models.losses import SigmoidCrossEntropy, SigmoidMeanSquaredError

torch = pytest.importorskip("torch", reason="torch is the autograd oracle; install it to compare against it")
F = torch.nn.functional
pytestmark = pytest.mark.oracle

RTOL = 1e-10


def torch_layer(layer, params: dict, x):
    """The same layer written with torch.nn.functional (the oracle)."""
    if isinstance(layer, CentralizedLinear):
        w = params["weight"]
        return F.linear(x, w - w.mean(dim=1, keepdim=True), params.get("bias"))
    if isinstance(layer, Linear):
        return F.linear(x, params["weight"], params.get("bias"))
    if isinstance(layer, Conv2d):
        return F.conv2d(x, params["weight"], params.get("bias"), stride=layer.stride, padding=layer.padding)
    if isinstance(layer, Flatten):
        return torch.flatten(x, 1)
    if isinstance(layer, ReLU):
        return F.relu(x)
    if isinstance(layer, Tanh):
        return torch.tanh(x)
    if isinstance(layer, Sigmoid):
        return torch.sigmoid(x)
    if isinstance(layer, WeightNorm):
        v = params["v"]
        norms = torch.sqrt((v * v).reshape(v.shape[0], -1).sum(dim=1)).reshape((-1,) + (1,) * (v.ndim - 1))
        weight = params["g"].reshape(norms.shape) * v / norms
        return torch_layer(layer.layer, {"weight": weight, **({"bias": params["bias"]} if "bias" in params else {})}, x)
    if isinstance(layer, BatchNorm):
        return F.batch_norm(x, None, None, params["weight"], params["bias"], training=True, eps=layer.eps)
    if isinstance(layer, MeanOnlyBatchNorm):
        return x - x.mean(dim=0, keepdim=True) + params["bias"]
    if isinstance(layer, Sequential):
        for i, sub in enumerate(layer.layers):
            prefix = f"{i}."
            x = torch_layer(sub, {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}, x)
        return x
    raise TypeError(f"no torch oracle for {type(layer).__name__}")


def torch_loss(loss, outputs, targets):
    if isinstance(loss, SoftmaxCrossEntropy):
        return F.cross_entropy(outputs, targets)
    if isinstance(loss, MeanSquaredError):
        return F.mse_loss(outputs, targets)
    if isinstance(loss, SigmoidMeanSquaredError):
        return F.mse_loss(torch.sigmoid(outputs), targets)
    if isinstance(loss, SigmoidCrossEntropy):
        return F.binary_cross_entropy_with_logits(outputs, targets)
    raise TypeError(f"no torch oracle for {type(loss).__name__}")


def _max_rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)) if a.size else 0.0


def _torch_value(case, tensors: dict):
    params = {k: v for k, v in tensors.items() if k != "input"}
    x = tensors["input"]
    module = case.module
    if case.kind == "layer":
        y = torch_layer(module, params, x)
        probe = torch.from_numpy(np.asarray(_probe(case)))
        return (probe * y).sum()
    if case.kind == "loss":
        return torch_loss(module, x, torch.from_numpy(np.asarray(_targets(case))))
    out = torch_layer(module.body, params, x)
    return torch_loss(module.loss_fn, out, torch.from_numpy(np.asarray(_targets(case))))


def _probe(case):
    return case.fixed["probe"]


def _targets(case):
    return case.fixed["targets"]


@pytest.mark.parametrize("case", catalogue(seed=7), ids=lambda c: c.name)
def test_value_and_gradients_match_torch_autograd(case) -> None:
    tensors = {k: torch.tensor(np.asarray(v), dtype=torch.float64, requires_grad=True) for k, v in case.point.items()}
    value = _torch_value(case, tensors)
    value.backward()
    ours, grads = case.value_and_grad(case.point)
    assert abs(float(ours) - value.item()) <= RTOL * max(abs(value.item()), 1.0)
    for key, g in grads.items():
        assert _max_rel(np.asarray(g), tensors[key].grad.numpy()) <= RTOL, key


@given(
    st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4),
    st.integers(1, 3), st.integers(0, 3), st.integers(4, 9), st.integers(4, 9), st.booleans(), st.integers(0, 2**16),
)  # fmt: skip
def test_conv2d_with_stride_and_padding_matches_torch(n, c, o, kh, kw, stride, padding, h, w, bias, seed) -> None:
    rng = np.random.default_rng(seed)
    conv = Conv2d(c, o, (kh, kw), stride=stride, padding=padding, bias=bias)
    params = conv.init(rng)
    x = rng.standard_normal((n, c, h, w))
    y, cache = conv.forward(params, x)
    dy = rng.standard_normal(y.shape)
    dx, grads = conv.backward(params, cache, dy)

    tx = torch.tensor(x, requires_grad=True)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    ty = F.conv2d(tx, tp["weight"], tp.get("bias"), stride=stride, padding=padding)
    (ty * torch.from_numpy(dy)).sum().backward()
    assert _max_rel(y, ty.detach().numpy()) <= RTOL
    assert _max_rel(dx, tx.grad.numpy()) <= RTOL
    for key in params:
        assert _max_rel(grads[key], tp[key].grad.numpy()) <= RTOL, key


def test_digits_networks_match_torch() -> None:
    from gc_theory.models import mlp, small_cnn

    rng = np.random.default_rng(0)
    for net, x in ((small_cnn(), rng.standard_normal((6, 1, 8, 8))), (mlp([64, 32, 10]), rng.standard_normal((6, 64)))):
        assert isinstance(net, Network)
        params = net.init(3)
        labels = np.arange(6) % 10
        loss, grads = net.loss_and_grad(params, (x, labels))
        tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
        tl = F.cross_entropy(torch_layer(net.body, tp, torch.from_numpy(x)), torch.from_numpy(labels))
        tl.backward()
        assert abs(float(loss) - tl.item()) <= RTOL * abs(tl.item())
        for key in params:
            assert _max_rel(grads[key], tp[key].grad.numpy()) <= RTOL, key
