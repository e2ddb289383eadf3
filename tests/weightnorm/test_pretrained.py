"""A trained weight converts to WN exactly, adding one g per unit; WN layers are batch independent, BN is not."""

import numpy as np
import pytest

from gc_theory.models import BatchNorm, Linear, Sequential, WeightNorm
from gc_theory.models.batch_coupling import batch_coupling
from gc_theory.weightnorm import weight_norm
from gc_theory.weightnorm.pretrained import extra_parameters, from_pretrained


@pytest.mark.parametrize("shape", [(1, 5), (10, 3), (8, 3, 3, 3)])
def test_conversion_reproduces_the_weight(shape):
    w = np.random.default_rng(0).standard_normal(shape)
    v, g = from_pretrained(w)
    # Both norms are the same computed number, so w comes back within two roundings per entry.
    assert np.max(np.abs(weight_norm(v, g) - w)) <= 2 * np.finfo(float).eps * np.max(np.abs(w))
    assert v is not w and g.shape == (shape[0],)
    assert extra_parameters(shape) == shape[0]


def test_converted_layer_computes_the_pretrained_function():
    rng = np.random.default_rng(1)
    plain = Linear(6, 4)
    p = plain.init(rng)
    v, g = from_pretrained(p["weight"])
    x = rng.standard_normal((5, 6))
    y_plain, _ = plain.forward(p, x)
    y_wn, _ = WeightNorm(plain).forward({"v": v, "g": g, "bias": p["bias"]}, x)
    assert np.max(np.abs(y_wn - y_plain)) <= 1e-13 * np.max(np.abs(y_plain))


def test_zero_unit_is_refused_naming_w():
    with pytest.raises(ValueError, match="w has zero norm"):
        from_pretrained(np.array([[1.0, 2.0], [0.0, 0.0]]))


def test_wn_is_batch_independent_and_bn_is_not():
    rng = np.random.default_rng(2)
    wn = WeightNorm(Linear(6, 4))
    x = rng.standard_normal((8, 6))
    change, scale = batch_coupling(wn, wn.init(rng), x, np.random.default_rng(3))
    assert change <= 1e-13 * scale
    bn = Sequential(Linear(6, 4), BatchNorm(4))
    change_bn, scale_bn = batch_coupling(bn, bn.init(rng), x, np.random.default_rng(3))
    assert change_bn >= 1e-2 * scale_bn


def test_batch_coupling_refuses_a_single_example():
    layer = Linear(3, 2)
    with pytest.raises(ValueError, match="at least 2 examples"):
        batch_coupling(layer, layer.init(np.random.default_rng(0)), np.ones((1, 3)), np.random.default_rng(0))
