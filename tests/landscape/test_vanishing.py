"""Vanishing gradients: activation slopes (hypothesis), the depth bound, saturated outputs; oracle: torch autograd."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gc_theory.core.backend import to_numpy
from gc_theory.claims import get_claim
from gc_theory.models.losses import SigmoidCrossEntropy, SigmoidMeanSquaredError
from gc_theory.landscape.vanishing import activation_slope, chain, input_gradient, output_gradient, steps_to_leave_saturation
from gc_theory.testing.strategies import bounded_floats, seeds


@given(z=st.lists(bounded_floats(60.0), min_size=1, max_size=50))
def test_slope_bounds_hold_on_drawn_points(z):
    z = np.array(z)
    u = np.finfo(float).eps / 2
    sig = activation_slope("sigmoid", z)
    assert np.all(sig <= 0.25 * (1 + 8 * u))
    # Equality only at 0: sigma'(z) = 1/4 - z^2/16 + O(z^4) drops below 1/4 by more than rounding once |z| > 4 sqrt(u).
    assert np.all(sig[np.abs(z) > 4 * math.sqrt(u)] < 0.25)
    assert np.all(activation_slope("tanh", z) <= 1.0)
    assert set(np.unique(activation_slope("relu", z)).tolist()) <= {0.0, 1.0}


@given(depth=st.integers(1, 12), seed=seeds)
def test_sigmoid_chain_never_exceeds_the_bound(depth, seed):
    rng = np.random.default_rng(seed)
    net, params = chain("sigmoid", depth, 8, rng)
    g = input_gradient(net, params, rng.standard_normal((1, 8)), rng.standard_normal((1, 8)))
    assert g.input_norm <= g.output_norm * g.weight_norm_product / 4.0**depth * (1 + 1e-12)


def test_input_gradient_matches_torch_autograd(backend):
    torch = pytest.importorskip("torch")
    from gc_theory.testing.strategies import on_backend

    rng = np.random.default_rng(5)
    net, params = chain("tanh", 3, 6, rng, xp=on_backend(backend, np.zeros(1)).__array_namespace__())
    x, up = rng.standard_normal((1, 6)), rng.standard_normal((1, 6))
    ours = input_gradient(net, params, on_backend(backend, x), on_backend(backend, up))
    h = torch.tensor(x, requires_grad=True)
    out = h
    for k in range(3):
        w = torch.tensor(to_numpy(params[f"{2 * k}.weight"]))
        b = torch.tensor(to_numpy(params[f"{2 * k}.bias"]))
        out = torch.tanh(out @ w.T + b)
    out.backward(torch.tensor(up))
    assert ours.input_norm == pytest.approx(float(h.grad.norm()), rel=1e-12)


@pytest.mark.parametrize(("loss", "name"), [(SigmoidMeanSquaredError, "mse"), (SigmoidCrossEntropy, "ce")])
def test_output_losses_backward_is_the_closed_form(loss, name, backend):
    from gc_theory.testing.strategies import on_backend

    rng = np.random.default_rng(11)
    z = on_backend(backend, np.append(8.0 * rng.standard_normal(9), [-40.0, 0.0, 40.0]).reshape(4, 3))
    t = on_backend(backend, rng.random((4, 3)))
    _, cache = loss().forward(z, t)
    np.testing.assert_allclose(to_numpy(loss().backward(cache)), to_numpy(output_gradient(name, z, t)), rtol=1e-14, atol=1e-18)


@pytest.mark.parametrize(("loss", "name"), [(SigmoidMeanSquaredError, "mse"), (SigmoidCrossEntropy, "ce")])
def test_output_losses_match_torch_far_into_saturation(loss, name):
    torch = pytest.importorskip("torch")
    z = np.array([[-60.0, -12.0, -1.0], [0.0, 3.0, 60.0]])
    t = np.array([[1.0, 1.0, 0.25], [0.5, 0.0, 0.0]])
    tz = torch.tensor(z, requires_grad=True)
    f = torch.nn.functional
    ref = f.mse_loss(torch.sigmoid(tz), torch.tensor(t)) if name == "mse" else f.binary_cross_entropy_with_logits(tz, torch.tensor(t))
    ref.backward()
    value, cache = loss().forward(z, t)
    assert float(value) == pytest.approx(ref.item(), rel=1e-14)
    np.testing.assert_allclose(loss().backward(cache), tz.grad.numpy(), rtol=1e-13, atol=1e-300)
    # Saturated on the wrong answer (z = -60, t = 1): squared error's gradient has vanished, cross-entropy's has not.
    assert abs(float(output_gradient(name, z, t)[0, 0])) == (pytest.approx(1 / 6) if name == "ce" else pytest.approx(0.0, abs=1e-25))


def test_saturation_step_counts_obey_their_bounds():
    for z0 in (-3.0, -7.0, -10.0):
        assert steps_to_leave_saturation("ce", z0, 0.5) <= math.ceil(2 * abs(z0) / 0.5)
        assert steps_to_leave_saturation("mse", z0, 0.5) >= (math.exp(abs(z0)) - 1) / 0.5
    # An unsaturated unit: both leave at once.
    assert steps_to_leave_saturation("mse", 0.5, 1.0) == steps_to_leave_saturation("ce", 0.5, 1.0) == 0
    assert steps_to_leave_saturation("mse", -30.0, 1.0, max_steps=10) == 11


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="name must be one of"):
        activation_slope("gelu", np.zeros(2))
    with pytest.raises(ValueError, match="depth must be >= 1"):
        chain("sigmoid", 0, 4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="init must be one of"):
        chain("sigmoid", 2, 4, np.random.default_rng(0), init="xavier")
    with pytest.raises(ValueError, match="loss must be one of"):
        steps_to_leave_saturation("hinge", -3.0, 1.0)
    with pytest.raises(ValueError, match="eta must be"):
        steps_to_leave_saturation("ce", -3.0, 0.0)
    with pytest.raises(TypeError, match="z must have a real floating dtype"):
        activation_slope("tanh", np.arange(3))
    with pytest.raises(ValueError, match="loss must be one of"):
        output_gradient("hinge", np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="targets must have the shape of z"):
        output_gradient("ce", np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="targets must have the logits' shape"):
        SigmoidCrossEntropy()(np.zeros((2, 2)), np.zeros((2, 3)))


@pytest.mark.parametrize("id", ["vanishing.slopes", "vanishing.sigmoid_chain.bound", "vanishing.output.identities",
                                "vanishing.output.saturation"])
def test_vanishing_claims_hold_and_their_controls_fail(id, backend, dtype):
    result = get_claim(id).run(backend=backend, dtype=dtype)
    assert result.ok, result
