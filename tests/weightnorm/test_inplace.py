"""Weight Normalization without weight-sized temporaries: ``out=``, the blocked update, the output-scaled layer."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from gc_theory.testing.strategies import on_backend, seeds, small_weight_shapes

from gc_theory.gradcheck import check_gradient
from gc_theory.models import Conv2d, Linear, WeightNorm
from gc_theory.models.normalization import planted_weight_norm
from gc_theory.verify.tolerances import gamma
from gc_theory.weightnorm import unit_norms, weight_norm, weight_norm_backward, weight_norm_scaled_backward
from gc_theory.weightnorm.reparam import _scale_and_remove

FLOATS = st.sampled_from([np.float32, np.float64])


def _problem(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    v = (rng.standard_normal(shape) + 0.1).astype(dtype)
    g = rng.standard_normal(shape[0]).astype(dtype)
    return v, g, rng.standard_normal(shape).astype(dtype)


@given(shape=small_weight_shapes, dtype=FLOATS, seed=seeds, project=st.booleans())
def test_out_writes_the_same_bits_in_place(shape, dtype, seed, project):
    v, g, grad_w = _problem(shape, dtype, seed)
    inputs = [a.copy() for a in (v, g, grad_w)]
    expected_v, expected_g = weight_norm_backward(v, g, grad_w, project=project)
    for a, before in zip((v, g, grad_w), inputs):
        np.testing.assert_array_equal(a, before)  # without out nothing is modified
    target = grad_w.copy()
    grad_v, grad_g = weight_norm_backward(v, g, target, project=project, out=target)
    assert grad_v is target
    np.testing.assert_array_equal(grad_v, expected_v)
    np.testing.assert_array_equal(grad_g, expected_g)
    elsewhere = np.empty_like(v)
    assert weight_norm_backward(v, g, grad_w, project=project, out=elsewhere)[0] is elsewhere
    np.testing.assert_array_equal(elsewhere, expected_v)


@pytest.mark.parametrize("shape", [(300, 512), (3, 40000), (7, 5, 3, 3), (1, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocked_update_matches_the_broadcast_reference_to_the_bit(shape, dtype):
    """NumPy's row-blocked update against the same arithmetic broadcast (array_api_strict, a Fortran-ordered copy)."""
    v, g, grad_w = _problem(shape, dtype, 3)
    blocked_v, blocked_g = weight_norm_backward(v, g, grad_w)
    strict_v, strict_g = weight_norm_backward(*(on_backend("array_api_strict", a) for a in (v, g, grad_w)))
    np.testing.assert_array_equal(blocked_v, np.asarray(strict_v))
    np.testing.assert_array_equal(blocked_g, np.asarray(strict_g))
    # every combination the two public backward functions use, in place and not
    col = (len(g),) + (1,) * (len(shape) - 1)
    scale, radial = g.reshape(col), (g * g).reshape(col)
    for s, r in ((scale, radial), (None, radial), (scale, None)):
        reference = _scale_and_remove(grad_w, s, r, v, False, None)
        np.testing.assert_array_equal(_scale_and_remove(grad_w, s, r, v, True, None), reference)
        target = grad_w.copy()
        assert _scale_and_remove(target, s, r, v, True, target) is target
        np.testing.assert_array_equal(target, reference)


@given(shape=small_weight_shapes, dtype=FLOATS, seed=seeds, project=st.booleans())
def test_scaled_backward_is_the_backward_through_w(shape, dtype, seed, project):
    r"""With s grad_w and dL/ds = v . grad_w given, the output-scaled form returns weight_norm_backward's gradients."""
    v, g, grad_w = _problem(shape, dtype, seed)
    norm = unit_norms(v, 0)
    scale = g.reshape(norm.shape) / norm
    grad_scale = np.sum((v * grad_w).reshape(len(g), -1), axis=1)
    got_v, got_g = weight_norm_scaled_backward(v, g, scale * grad_w, grad_scale, project=project)
    want_v, want_g = weight_norm_backward(v, g, grad_w, project=project)
    # both sides are within gamma_{2M+8} of the exact gradients, relative to the moduli of their terms
    M = v.size // len(g)
    size_g = np.sum(np.abs(v * grad_w).reshape(len(g), -1), axis=1) / norm.reshape(-1)
    size_v = np.abs(scale) * (np.abs(grad_w) + np.abs(v) * (size_g.reshape(norm.shape) / norm))
    assert np.all(np.abs(got_g - want_g) <= 2 * gamma(2 * M + 8, dtype) * size_g)
    assert np.all(np.abs(got_v - want_v) <= 2 * gamma(2 * M + 8, dtype) * size_v)


def test_scaled_backward_needs_no_division_by_g():
    """g = 0 (w = 0): grad_v is 0 and grad_g is dL/ds/||v||, finite, as through w."""
    rng = np.random.default_rng(5)
    v, grad_w = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    g = np.array([0.0, 1.5, 0.0, -2.0])
    scale = (g / np.linalg.norm(v, axis=1))[:, None]
    got_v, got_g = weight_norm_scaled_backward(v, g, scale * grad_w, np.sum(v * grad_w, axis=1))
    want_v, want_g = weight_norm_backward(v, g, grad_w)
    assert np.all(got_v[[0, 2]] == 0.0) and np.all(np.isfinite(got_g))
    np.testing.assert_allclose(got_v, want_v, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(got_g, want_g, rtol=1e-13)


def test_out_is_checked_like_centralize_out():
    v = np.ones((3, 4)) + np.eye(3, 4)
    g, grad_w = np.ones(3), np.ones((3, 4))
    with pytest.raises(ValueError, match=r"out must match v: shape \(3, 4\)"):
        weight_norm_backward(v, g, grad_w, out=np.empty((4, 3)))
    with pytest.raises(ValueError, match=r"out must match v: .* dtype float64"):
        weight_norm_backward(v, g, grad_w, out=np.empty((3, 4), np.float32))
    with pytest.raises(TypeError, match=r"out must be an array of the same backend as v"):
        weight_norm_backward(v, g, grad_w, out=on_backend("array_api_strict", np.empty((3, 4))))
    frozen = np.empty((3, 4))
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match=r"out must be writeable"):
        weight_norm_backward(v, g, grad_w, out=frozen)
    with pytest.raises(ValueError, match=r"out must not be v"):
        weight_norm_backward(v, g, grad_w, out=v)
    with pytest.raises(ValueError, match=r"grad_scale must have shape \(3,\)"):
        weight_norm_scaled_backward(v, g, grad_w, np.ones(4))


# --- the layer ---------------------------------------------------------------------------------


#: (layer, input shape, whether the layer scales its output): v larger than the output, or not.
PATHS = [
    (Linear(6, 4), (5, 6), True),
    (Linear(6, 4), (7, 6), False),
    (Conv2d(4, 3, 3), (1, 4, 4, 4), True),
    (Conv2d(2, 3, 3, padding=1, stride=2), (2, 2, 5, 5), False),
]


@pytest.mark.parametrize("layer,x_shape,scaled", PATHS)
def test_layer_at_g_zero_matches_finite_differences(layer, x_shape, scaled, rng):
    wn = WeightNorm(layer)
    params = {**wn.init(rng), "g": np.array([0.0, 0.7, 0.0] + [-1.2] * (wn.out_units - 3))}
    x = rng.standard_normal(x_shape)
    y, cache = wn.forward(params, x)
    assert (cache.t is not None) == scaled
    dy = rng.standard_normal(y.shape)
    dx, grads = wn.backward(params, cache, dy)

    def loss(p, z=x):
        return float(np.sum(dy * wn.forward(p, z)[0]))

    assert check_gradient(lambda z: loss(params, z), dx, x).passed
    for key in params:
        report = check_gradient(lambda p: loss({**params, key: p}), grads[key], params[key])
        assert report.passed, (key, report.verdict)


@pytest.mark.parametrize("layer,x_shape,scaled", PATHS)
def test_layer_equals_the_plain_layer_at_w(layer, x_shape, scaled, rng):
    """Either evaluation order against the plain layer run with w = g v/||v||, up to rounding."""
    wn = WeightNorm(layer)
    params = {k: p + 0.2 * rng.standard_normal(p.shape) for k, p in wn.init(rng).items()}
    x = rng.standard_normal(x_shape)
    plain = {"weight": weight_norm(params["v"], params["g"]), "bias": params["bias"]}
    y, cache = wn.forward(params, x)
    assert (cache.t is not None) == scaled
    y_plain, cache_plain = layer.forward(plain, x)
    np.testing.assert_allclose(y, y_plain, rtol=0, atol=1e-14 * float(np.max(np.abs(y_plain))))
    dy = rng.standard_normal(y.shape)
    dx, grads = wn.backward(params, cache, dy)
    dx_plain, grads_plain = layer.backward(plain, cache_plain, dy)
    grad_v, grad_g = weight_norm_backward(params["v"], params["g"], grads_plain["weight"])
    for got, want in ((dx, dx_plain), (grads["v"], grad_v), (grads["g"], grad_g), (grads["bias"], grads_plain["bias"])):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-13 * float(np.max(np.abs(want))))


def _peak_bytes(step) -> int:
    step()  # warm: caches and lazily built objects are not what is measured
    tracemalloc.start()
    try:
        step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_layer_allocates_no_weight_sized_array_beyond_the_plain_layer(rng):
    """Peak memory of a forward + backward: WeightNorm's exceeds the plain layer's by less than half of v.

    NumPy reports its buffers to tracemalloc. Forming w, a fresh grad_v and a
    temporary for the projection would each add all of v (4 MB here).
    """
    layer = Linear(512, 1000)
    wn = WeightNorm(layer)
    params = wn.init(rng)
    plain = {"weight": params["v"] * 1.0, "bias": params["bias"]}
    x, dy = rng.standard_normal((8, 512)), rng.standard_normal((8, 1000))

    def step(model, p):
        return lambda: model.backward(p, model.forward(p, x)[1], dy)

    extra = _peak_bytes(step(wn, params)) - _peak_bytes(step(layer, plain))
    assert extra < params["v"].nbytes // 2, (extra, params["v"].nbytes)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_layer_names_v_for_a_non_finite_direction_and_checks_its_layout(bad, rng):
    """v is scanned once per forward (by its unit norms, as the plain layer scans its weight), and named."""
    wn = WeightNorm(Linear(4, 3))
    params = wn.init(rng)
    params["v"][1, 2] = bad
    with pytest.raises(ValueError, match=r"v\W* has 1 non-finite entry"):
        wn.forward(params, np.ones((2, 4)))
    good = wn.init(rng)
    with pytest.raises(KeyError, match=r"missing \['v'\]"):
        wn.forward({k: p for k, p in good.items() if k != "v"}, np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"params\['v'\] of WeightNorm must have shape \(3, 4\)"):
        wn.forward({**good, "v": np.ones((4, 3))}, np.ones((2, 4)))
    with pytest.raises(TypeError, match=r"params\['v'\] is float32 but other parameters are float64"):
        wn.forward({**good, "v": good["v"].astype(np.float32)}, np.ones((2, 4)))
    with pytest.raises(TypeError, match=r"params\['v'\] must have a real floating dtype"):
        wn.forward({**good, "v": np.ones((3, 4), np.int64)}, np.ones((2, 4)))


@pytest.mark.parametrize("layer,x_shape,scaled", PATHS)
def test_planted_layer_is_rejected_on_either_path(layer, x_shape, scaled, rng):
    wn = planted_weight_norm(layer)
    params = {k: p + 0.3 * rng.standard_normal(p.shape) for k, p in wn.init(rng).items()}
    x = rng.standard_normal(x_shape) + 1.0
    y, cache = wn.forward(params, x)
    assert (cache.t is not None) == scaled
    dy = rng.standard_normal(y.shape)
    _, grads = wn.backward(params, cache, dy)
    report = check_gradient(lambda p: float(np.sum(dy * wn.forward({**params, "v": p}, x)[0])), grads["v"], params["v"],
                            diagnose=False)
    assert not report.passed
