"""Weight Normalization, weight standardisation and the normalisation layers: theorems, gradients, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from gc_theory.testing.strategies import on_backend, seeds, small_weight_shapes

from gc_theory import claims
from gc_theory.core.backend import get_namespace
from gc_theory.gradcheck import check_gradient
from gc_theory.gradcheck.hessian import check_hvp
from gc_theory.models import BatchNorm, Conv2d, Linear, MeanOnlyBatchNorm, ReLU, Sequential, WeightNorm
from gc_theory.models.normalization import (
    data_dependent_init_network,
    planted_batch_norm,
    planted_mean_only_batch_norm,
    planted_weight_norm,
)
from gc_theory.verify.tolerances import gamma
from gc_theory.weightnorm import (
    data_dependent_init,
    data_dependent_init_raw_sigma,
    init_from_preactivations,
    log_scale,
    log_scale_backward,
    unit_norms,
    weight_norm,
    weight_norm_backward,
    weight_norm_hvp,
    weight_standardization,
    weight_standardization_backward,
)

WN_CLAIMS = [c.id for c in claims.select("wn.")]


# --- the claims, on every backend and dtype ---------------------------------------------------


def test_fourteen_claims_registered():
    assert len(WN_CLAIMS) == 14


@pytest.mark.parametrize("claim_id", WN_CLAIMS)
def test_wn_claims_verified(claim_id, backend, dtype):
    result = claims.get_claim(claim_id).run(backend, dtype)
    assert result.error is None, result.error
    assert result.passed, (result.residual, result.tolerance, result.detail)
    assert result.control_failed, (result.control_residual, result.control_tolerance, result.control_detail)


# --- weight_norm: properties over shapes, axes and backends -----------------------------------


@given(shape=small_weight_shapes, seed=seeds)
def test_norm_of_w_is_abs_g_any_shape(shape, seed):
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(shape) + 0.1
    g = rng.standard_normal(shape[0])
    w = weight_norm(v, g)
    M = math.prod(shape[1:])
    norms = np.sqrt(np.sum(w.reshape(shape[0], -1) ** 2, axis=1))
    assert np.all(np.abs(norms - np.abs(g)) <= gamma(2 * M + 8, np.float64) * np.abs(g))


@pytest.mark.parametrize("axis", [0, 1, -1, None])
def test_any_axis_matches_moving_the_axis_first(axis, rng):
    v = rng.standard_normal((3, 4, 5))
    g = rng.standard_normal(()) if axis is None else rng.standard_normal(v.shape[axis])
    w = weight_norm(v, g, axis)
    if axis is None:
        expected = g * v / np.linalg.norm(v)
    else:
        moved = np.moveaxis(v, axis, 0)
        expected = np.moveaxis(g[:, None, None] * moved / np.linalg.norm(moved.reshape(len(g), -1), axis=1)[:, None, None], 0, axis)
    np.testing.assert_allclose(w, expected, rtol=1e-14, atol=0)


def test_weight_norm_runs_on_every_backend(xp, dtype):
    host = np.random.default_rng(1).standard_normal((4, 3, 2, 2))
    v = xp.asarray(host.astype(dtype))
    g = xp.asarray(np.array([1.0, -2.0, 0.5, 3.0], dtype=dtype))
    w = weight_norm(v, g)
    grad_v, grad_g = weight_norm_backward(v, g, w)
    assert w.dtype == v.dtype and grad_v.dtype == v.dtype and grad_g.shape == (4,)
    # d/dw of |w|^2/2 is w; then grad_g = u.w = g and grad_v is 0 (w is parallel to v)
    assert float(xp.max(xp.abs(grad_g - g))) <= 64 * float(np.finfo(dtype).eps) * 3.0
    assert float(xp.max(xp.abs(grad_v))) <= 64 * float(np.finfo(dtype).eps) * 3.0


def test_float32_norms_survive_tiny_and_huge_v():
    for scale in (1e-30, 1e30):
        v = (np.random.default_rng(2).standard_normal((3, 50)) * scale).astype(np.float32)
        w = weight_norm(v, np.ones(3, np.float32))
        np.testing.assert_allclose(np.linalg.norm(w, axis=1), 1.0, rtol=1e-5)


# --- gradients against finite differences -----------------------------------------------------


def _quadratic(shape, rng):
    target = rng.standard_normal(shape)
    return lambda w: 0.5 * float(np.sum((w - target) ** 2)), lambda w: w - target


@pytest.mark.parametrize("shape,axis", [((4, 6), 0), ((3, 2, 3, 3), 0), ((5, 3), -1), ((6,), None)])
def test_weight_norm_backward_matches_finite_differences(shape, axis, rng):
    f_w, grad_fw = _quadratic(shape, rng)
    v = rng.standard_normal(shape)
    g = rng.standard_normal(() if axis is None else shape[axis])
    report_v = check_gradient(lambda x: f_w(weight_norm(x, g, axis)), weight_norm_backward(v, g, grad_fw(weight_norm(v, g, axis)), axis)[0], v)
    # a 0-d g is checked as a 1-vector: check_gradient does not take 0-d points
    g_shape = np.shape(g)
    grad_g = np.reshape(weight_norm_backward(v, g, grad_fw(weight_norm(v, g, axis)), axis)[1], (-1,))
    report_g = check_gradient(lambda x: f_w(weight_norm(v, np.reshape(x, g_shape), axis)), grad_g, np.reshape(g, (-1,)))
    assert report_v.passed, report_v.verdict
    assert report_g.passed, report_g.verdict


def test_planted_backward_without_projection_is_rejected(rng):
    f_w, grad_fw = _quadratic((4, 6), rng)
    v, g = rng.standard_normal((4, 6)), rng.standard_normal(4)
    wrong, _ = weight_norm_backward(v, g, grad_fw(weight_norm(v, g)), project=False)
    assert not check_gradient(lambda x: f_w(weight_norm(x, g)), wrong, v, diagnose=False).passed


def test_hvp_matches_differences_of_the_gradient(rng):
    x, y = rng.standard_normal((10, 5)), rng.standard_normal((10, 3))
    g = rng.standard_normal(3)

    def grad(v):
        w = weight_norm(v, g)
        return weight_norm_backward(v, g, (x @ w.T - y).T @ x)[0]

    def hvp(v, dv):
        w = weight_norm(v, g)
        return weight_norm_hvp(v, g, (x @ w.T - y).T @ x, lambda dw: (x @ dw.T).T @ x, dv)

    assert check_hvp(grad, hvp, rng.standard_normal((3, 5))).passed


def test_log_scale_chain_rule(rng):
    s = rng.standard_normal(4)
    grad_g = rng.standard_normal(4)
    report = check_gradient(lambda t: float(np.sum(grad_g * log_scale(t))), log_scale_backward(s, grad_g), s)
    assert report.passed and np.all(log_scale(s) > 0)


def test_weight_standardization_backward_and_moments(rng):
    w, G = rng.standard_normal((3, 4, 2, 2)) + 1.0, rng.standard_normal((3, 4, 2, 2))
    ws = weight_standardization(w)
    np.testing.assert_allclose(ws.reshape(3, -1).mean(axis=1), 0.0, atol=1e-15)
    np.testing.assert_allclose(ws.reshape(3, -1).std(axis=1), 1.0, rtol=1e-14)
    report = check_gradient(lambda x: float(np.sum(G * weight_standardization(x))), weight_standardization_backward(w, G), w)
    assert report.passed, report.verdict


# --- layers: analytic backward against finite differences; planted bugs rejected ----------------


def _layer_cases(rng):
    return [
        (WeightNorm(Linear(5, 3)), rng.standard_normal((4, 5))),
        (WeightNorm(Conv2d(2, 3, 3, padding=1, stride=2)), rng.standard_normal((2, 2, 5, 5))),
        (MeanOnlyBatchNorm(3), rng.standard_normal((6, 3)) + 2.0),
        (MeanOnlyBatchNorm(2), rng.standard_normal((3, 2, 2, 2))),
        (BatchNorm(3), rng.standard_normal((6, 3)) * 3.0),
        (BatchNorm(2, eps=0.0), rng.standard_normal((3, 2, 2, 2))),
    ]


def _loss(layer, params, x, dy):
    return float(np.sum(dy * layer.forward(params, x)[0]))


@pytest.mark.parametrize("index", range(6))
def test_layer_backward_matches_finite_differences(index, rng):
    layer, x = _layer_cases(rng)[index]
    params = layer.init(rng)
    params = {k: p + 0.3 * rng.standard_normal(p.shape) for k, p in params.items()}
    y, cache = layer.forward(params, x)
    dy = rng.standard_normal(y.shape)
    dx, grads = layer.backward(params, cache, dy)
    assert check_gradient(lambda z: _loss(layer, params, z, dy), dx, x).passed
    for key in params:
        report = check_gradient(lambda p: _loss(layer, {**params, key: p}, x, dy), grads[key], params[key])
        assert report.passed, (key, report.verdict)


@pytest.mark.parametrize("make,x_shape,key", [
    (lambda: planted_weight_norm(Linear(5, 3)), (4, 5), "v"),
    (lambda: planted_weight_norm(Conv2d(2, 3, 3)), (2, 2, 4, 4), "v"),
    (lambda: planted_mean_only_batch_norm(3), (6, 3), "x"),
    (lambda: planted_batch_norm(3), (6, 3), "x"),
])
def test_planted_layers_are_rejected(make, x_shape, key, rng):
    layer = make()
    x = rng.standard_normal(x_shape) + 1.0
    params = {k: p + 0.3 * rng.standard_normal(p.shape) for k, p in layer.init(rng).items()}
    y, cache = layer.forward(params, x)
    dy = rng.standard_normal(y.shape)
    dx, grads = layer.backward(params, cache, dy)
    if key == "x":
        report = check_gradient(lambda z: _loss(layer, params, z, dy), dx, x, diagnose=False)
    else:
        report = check_gradient(lambda p: _loss(layer, {**params, key: p}, x, dy), grads[key], params[key], diagnose=False)
    assert not report.passed


def test_mean_only_running_mean_and_inference(rng):
    layer = MeanOnlyBatchNorm(3, momentum=0.25)
    params = {"bias": np.array([0.0, 1.0, -1.0])}
    x = rng.standard_normal((8, 3)) + 5.0
    _, cache = layer.forward(params, x)
    running = layer.update_running_mean(np.zeros(3), cache)
    np.testing.assert_allclose(running, 0.25 * x.mean(axis=0))
    np.testing.assert_allclose(layer.inference(params, x, x.mean(axis=0)), layer.forward(params, x)[0])


# --- data-dependent initialisation ------------------------------------------------------------


@pytest.mark.parametrize("out", [10, 300])
def test_data_dependent_init_moments(out, rng):
    v, x = rng.uniform(-0.05, 0.05, (out, 784)), rng.uniform(0, 1, (64, 784))
    g, b = data_dependent_init(v, x, init_scale=0.7)
    t = g * (x @ v.T) / np.linalg.norm(v, axis=1) + b
    np.testing.assert_allclose(t.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(t.std(axis=0), 0.7, rtol=1e-12)
    # the mistake this init avoids: sigma of the raw v.x leaves variance init_scale^2/||v||^2
    g_raw, b_raw = data_dependent_init_raw_sigma(v, x, init_scale=0.7)
    t_raw = g_raw * (x @ v.T) / np.linalg.norm(v, axis=1) + b_raw
    np.testing.assert_allclose(t_raw.std(axis=0), 0.7 / np.linalg.norm(v, axis=1), rtol=1e-12)


def test_network_init_conv_layer_by_layer(rng):
    net = Sequential(WeightNorm(Conv2d(1, 4, 3)), ReLU(), WeightNorm(Conv2d(4, 2, 3)))
    x = rng.uniform(0, 1, (8, 1, 9, 9))
    params = data_dependent_init_network(net, net.init(rng), x, init_scale=2.0)
    h = x
    for layer, p in zip(net.layers, net.split(params)):
        h, _ = layer.forward(p, h)
        if isinstance(layer, WeightNorm):
            np.testing.assert_allclose(h.mean(axis=(0, 2, 3)), 0.0, atol=1e-12)
            np.testing.assert_allclose(h.std(axis=(0, 2, 3)), 2.0, rtol=1e-12)


# --- bad input -----------------------------------------------------------------------------------


def test_zero_norm_unit_names_v_and_the_unit():
    v = np.ones((4, 3))
    v[2] = 0.0
    with pytest.raises(ValueError, match=r"v has zero norm for unit 2"):
        weight_norm(v, np.ones(4))
    with pytest.raises(ValueError, match=r"unit 2"):
        weight_norm_backward(v, np.ones(4), np.ones((4, 3)))


def test_constant_init_batch_raises_or_falls_back_with_a_warning():
    v = np.random.default_rng(0).standard_normal((3, 4))
    for x in (np.ones((5, 4)), np.ones((1, 4))):
        with pytest.raises(ValueError, match=r"sigma\[t\] = 0"):
            data_dependent_init(v, x)
        with pytest.warns(RuntimeWarning, match=r"sigma\[t\] = 0"):
            g, b = data_dependent_init(v, x, init_scale=0.5, fallback=True)
        assert np.all(np.abs(g) <= 0.5) and np.all(np.isfinite(b))


def test_bad_arguments_get_clear_errors():
    v = np.ones((3, 4)) + np.eye(3, 4)
    with pytest.raises(ValueError, match=r"g must have shape \(3,\)"):
        weight_norm(v, np.ones((3, 1)))  # torch's (out, 1) would broadcast silently
    with pytest.raises(ValueError, match=r"axis=2 is out of range"):
        weight_norm(v, np.ones(3), axis=2)
    with pytest.raises(TypeError, match=r"axis must be an integer or None"):
        weight_norm(v, np.ones(3), axis=0.5)
    with pytest.raises(TypeError, match=r"v must have a real floating dtype"):
        weight_norm(np.ones((3, 4), dtype=np.int64), np.ones(3))
    with pytest.raises(TypeError, match=r"g must have the dtype of v"):
        weight_norm(v, np.ones(3, np.float32))
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 4\)"):
        data_dependent_init(v, np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"x must have 4 features"):
        WeightNorm(Linear(4, 3)).forward(WeightNorm(Linear(4, 3)).init(np.random.default_rng(0)), np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"x must have 3 features"):
        MeanOnlyBatchNorm(3).forward({"bias": np.zeros(3)}, np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"w is constant on unit 0"):
        weight_standardization(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"init_scale must be"):
        data_dependent_init(v, np.random.default_rng(0).standard_normal((5, 4)), init_scale=0.0)
    with pytest.raises(ValueError, match=r"constant over the batch"):
        BatchNorm(2, eps=0.0).forward({"weight": np.ones(2), "bias": np.zeros(2)}, np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"v has 1 non-finite"):
        weight_norm(np.array([[np.nan, 1.0]]), np.ones(1))
    with pytest.raises(ValueError, match=r"grad_w has 1 non-finite"):
        weight_norm_backward(v, np.ones(3), np.where(np.arange(12).reshape(3, 4) == 6, np.nan, 1.0))


def test_unit_norms_shape_broadcasts():
    v = np.arange(1.0, 25.0).reshape(2, 3, 4)
    assert unit_norms(v, 1).shape == (1, 3, 1)
    assert unit_norms(v, None).shape == (1, 1, 1)


@given(seed=seeds)
def test_init_from_preactivations_on_strict_backend(seed):
    t_host = np.random.default_rng(seed).standard_normal((6, 3, 2, 2))
    t = on_backend("array_api_strict", t_host)
    g, b = init_from_preactivations(t, init_scale=1.5)
    xp = get_namespace("array_api_strict")
    y = xp.reshape(g, (1, 3, 1, 1)) * t + xp.reshape(b, (1, 3, 1, 1))
    assert float(xp.max(xp.abs(xp.mean(y, axis=(0, 2, 3))))) < 1e-12
    assert float(xp.max(xp.abs(xp.std(y, axis=(0, 2, 3)) - 1.5))) < 1e-12
