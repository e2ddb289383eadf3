"""assert_weight_norm, assert_optimizer_matches and assert_confined: correct implementations in other styles pass at
every seed, plausible wrong ones are caught with the mistake named, misuse is a TypeError/ValueError."""

from __future__ import annotations

import numpy as np
import pytest

from gc_theory import centralize, optim
from gc_theory.testing import assert_confined, assert_optimizer_matches, assert_weight_norm, torch_step

SEEDS = range(30)


# --- Weight Normalization: another style (the radial part removed explicitly) ----------------------------------------------------


def _forward(v, g):
    axes = tuple(range(1, v.ndim))
    n = np.sqrt(np.sum(v * v, axis=axes))
    return v * (g / n).reshape((-1,) + (1,) * len(axes))


def _backward(v, g, G, *, project=True, unnormalised_g=False):
    shape = (-1,) + (1,) * (v.ndim - 1)
    axes = tuple(range(1, v.ndim))
    n = np.sqrt(np.sum(v * v, axis=axes))
    dot = np.sum(G * v, axis=axes)
    grad_g = dot if unnormalised_g else dot / n
    radial = (dot / n**2).reshape(shape) * v if project else 0.0
    return (g / n).reshape(shape) * (G - radial), grad_g


@pytest.mark.parametrize("seed", SEEDS)
def test_a_correct_weight_norm_in_another_style_passes_at_every_seed(seed):
    assert assert_weight_norm(_forward, _backward, seed=seed, examples=8).passed


@pytest.mark.parametrize(
    ("backward", "hint"),
    [(lambda v, g, G: _backward(v, g, G, project=False), "projection M_w"),
     (lambda v, g, G: _backward(v, g, G, unnormalised_g=True), "divide it by ||v||"),
     (lambda v, g, G: (lambda r: (np.abs(r[0]) * np.sign(r[0]) * np.sign(g).reshape((-1,) + (1,) * (v.ndim - 1)), r[1]))(
         _backward(v, g, G)), "|g|")],
)
def test_wrong_weight_norm_backwards_are_caught_and_named(backward, hint):
    with pytest.raises(AssertionError) as info:
        assert_weight_norm(_forward, backward)
    assert hint in str(info.value), str(info.value)


def test_a_forward_without_the_length_or_with_a_global_norm_is_named():
    with pytest.raises(AssertionError, match="the length g is missing"):
        assert_weight_norm(lambda v, g: v / np.sqrt(np.sum(v * v, axis=tuple(range(1, v.ndim)), keepdims=True)))
    with pytest.raises(AssertionError, match="whole tensor"):
        assert_weight_norm(lambda v, g: g.reshape((-1,) + (1,) * (v.ndim - 1)) * v / np.linalg.norm(v))


def test_weight_norm_misuse_and_implementation_faults_are_told_apart():
    with pytest.raises(ValueError, match="nothing to check"):
        assert_weight_norm(None, None)
    with pytest.raises(TypeError, match="axis"):
        assert_weight_norm(_forward, axis=(0,))
    with pytest.raises(AssertionError, match="returned shape"):
        assert_weight_norm(lambda v, g: v[:1])
    with pytest.raises(AssertionError, match="expected a pair"):
        assert_weight_norm(None, lambda v, g, G: G)

    def mutating(v, g):
        v *= 1.0 + 0 * v
        v[...] = _forward(v, g)
        return v

    with pytest.raises(AssertionError, match="modified its input v"):
        assert_weight_norm(mutating)


def test_torch_weight_norm_backward_is_checked_in_torch_arrays():
    torch = pytest.importorskip("torch")

    def backward(v, g, G):
        v = v.detach().clone().requires_grad_(True)
        g = g.detach().clone().requires_grad_(True)
        n = torch.linalg.vector_norm(v.flatten(1), dim=1).reshape((-1,) + (1,) * (v.ndim - 1))
        w = g.reshape(n.shape) * v / n
        w.backward(G)
        return v.grad, g.grad

    def forward(v, g):
        return torch._weight_norm(v, g.reshape((-1,) + (1,) * (v.ndim - 1)), 0)

    assert assert_weight_norm(forward, backward, xp=torch).passed


# --- Optimisers ---------------------------------------------------------------------------------------------------


def _sgd_gc(lr, momentum, *, gc=True, gc_update=False):
    """SGD with heavy-ball momentum written from the formulas, GC on the gradient (or the update)."""

    def step(params, grads, state):
        buf = state or {k: np.zeros_like(p) for k, p in params.items()}
        new, nbuf = {}, {}
        for k, p in params.items():
            g = grads[k]
            if gc and not gc_update and g.ndim > 1:
                g = g - g.mean(axis=tuple(range(1, g.ndim)), keepdims=True)
            nbuf[k] = momentum * buf[k] + g
            u = lr * nbuf[k]
            if gc and gc_update and u.ndim > 1:
                u = u - u.mean(axis=tuple(range(1, u.ndim)), keepdims=True)
            new[k] = p - u
        return new, nbuf

    return step


def _adam(lr, *, in_place_correction=False, eps_inside=False, b1=0.9, b2=0.999, eps=1e-8):
    def step(params, grads, state):
        t, m, v = state or (0, {k: np.zeros_like(p) for k, p in params.items()}, {k: np.zeros_like(p) for k, p in params.items()})
        t += 1
        new, m2, v2 = {}, {}, {}
        for k, p in params.items():
            g = grads[k]
            m2[k] = b1 * m[k] + (1 - b1) * g
            v2[k] = b2 * v[k] + (1 - b2) * g * g
            mh, vh = m2[k] / (1 - b1**t), v2[k] / (1 - b2**t)
            if in_place_correction:
                m2[k], v2[k] = mh, vh
            new[k] = p - lr * mh / (np.sqrt(vh + eps) if eps_inside else np.sqrt(vh) + eps)
        return new, (t, m2, v2)

    return step


@pytest.mark.parametrize("seed", SEEDS)
def test_correct_optimisers_in_another_style_pass_at_every_seed(seed):
    assert assert_optimizer_matches(_sgd_gc(0.1, 0.9), optim.SGD(lr=0.1, momentum=0.9, gc="gradient"), seed=seed,
                                    examples=2).passed
    assert assert_optimizer_matches(_adam(1e-2), optim.Adam(lr=1e-2), seed=seed, examples=2).passed


@pytest.mark.parametrize(
    ("step", "reference", "hint"),
    [(_adam(1e-2, in_place_correction=True), optim.Adam(lr=1e-2), "step 2 differs: the state"),
     (_adam(1e-2, eps_inside=True), optim.Adam(lr=1e-2), "where eps goes"),
     (_sgd_gc(0.1, 0.9, gc=False), optim.SGD(lr=0.1, momentum=0.9, gc="gradient"), "GC is missing"),
     # For SGD both placements are the same map (the buffer is linear); for Adam they are not.
     (optim.Adam(lr=1e-2, gc="gradient"), optim.Adam(lr=1e-2, gc="update"),
      "GC is applied to the gradient instead of the update")],
)
def test_wrong_optimisers_are_caught_with_the_mistake_named(step, reference, hint):
    with pytest.raises(AssertionError) as info:
        assert_optimizer_matches(step, reference)
    assert hint in str(info.value), str(info.value)


def test_the_toolkit_protocol_is_accepted_and_a_mutating_step_is_the_implementations_fault():
    assert assert_optimizer_matches(optim.RMSprop(lr=1e-2), optim.RMSprop(lr=1e-2)).passed

    def mutating(params, grads, state):
        for k in grads:
            grads[k] *= 0.5
        return {k: p - grads[k] for k, p in params.items()}, state

    with pytest.raises(AssertionError, match="modified its input grads"):
        assert_optimizer_matches(mutating, optim.SGD(lr=0.5))
    with pytest.raises(TypeError, match="reference must be an optimiser"):
        assert_optimizer_matches(mutating, "adam")
    with pytest.raises(AssertionError, match="expected a pair"):
        assert_optimizer_matches(lambda p, g, s: p, optim.SGD(lr=0.1))


@pytest.mark.parametrize("seed", range(5))
def test_a_torch_optimiser_with_gc_is_checked_against_ours(seed):
    torch = pytest.importorskip("torch")

    class SGDGC(torch.optim.SGD):
        """A user's torch optimiser: SGD with GC on the gradient of every weight with two or more axes."""

        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None and p.grad.ndim > 1:
                        p.grad -= p.grad.mean(dim=tuple(range(1, p.grad.ndim)), keepdim=True)
            return super().step(closure)

    reference = optim.SGD(lr=0.05, momentum=0.9, gc="gradient")
    assert assert_optimizer_matches(torch_step(SGDGC, lr=0.05, momentum=0.9), reference, xp=torch, seed=seed).passed
    with pytest.raises(AssertionError, match="GC is missing"):
        assert_optimizer_matches(torch_step(torch.optim.SGD, lr=0.05, momentum=0.9), reference, xp=torch, seed=seed)
    adam = optim.Adam(lr=1e-2, betas=(0.9, 0.99))
    assert assert_optimizer_matches(torch_step(torch.optim.Adam, lr=1e-2, betas=(0.9, 0.99)), adam, xp=torch, seed=seed).passed


# --- The hyperplane -----------------------------------------------------------------------------------------------


def _run(opt, seed, steps=30):
    rng = np.random.default_rng(seed)
    params = {"conv": rng.standard_normal((3, 2, 2, 2)), "fc": rng.standard_normal((4, 5)), "b": rng.standard_normal(4)}
    traj = optim.record_trajectory(opt, params, lambda p, t: {k: np.tanh(v) + 0.5 + 0.1 * rng.standard_normal(v.shape)
                                                              for k, v in p.items()}, steps)
    return traj


@pytest.mark.parametrize("seed", SEEDS)
def test_gc_trajectories_are_confined_at_every_seed(seed):
    for opt in (optim.SGD(lr=0.1, momentum=0.9, gc="gradient"), optim.Adam(lr=1e-2, gc="update")):
        assert assert_confined(_run(opt, seed)).passed
    trajectory = [p["fc"].astype(np.float32) for p in _run(optim.SGD(lr=0.1, gc="gradient"), seed).params]
    assert assert_confined(trajectory).passed


def test_drifting_trajectories_are_caught_with_the_cause_named():
    with pytest.raises(AssertionError, match="GC is missing"):
        assert_confined(_run(optim.SGD(lr=0.1, momentum=0.9), 0))
    with pytest.raises(AssertionError, match="leaves its hyperplane"):
        assert_confined(_run(optim.Adam(lr=1e-2, gc="gradient"), 0))
    w = [np.ones((3, 4))]
    for _ in range(5):
        w.append(np.moveaxis(centralize(np.moveaxis(w[-1] + 1.0, -1, 0)), 0, -1))  # a Keras layout centralised
    with pytest.raises(AssertionError):
        assert_confined(w)  # checked with the default axis=0, these iterates keep axis -1's means instead


def test_confined_misuse():
    with pytest.raises(TypeError, match="trajectory"):
        assert_confined(np.ones((3, 4)))
    with pytest.raises(ValueError, match="change shape"):
        assert_confined([np.ones((3, 4)), np.ones((3, 5))])
    with pytest.raises(ValueError, match="no parameter"):
        assert_confined([np.ones(3), np.ones(3)])
    with pytest.raises(ValueError, match="w0 must be a dict"):
        assert_confined([{"W": np.ones((3, 4))}, {"W": np.ones((3, 4))}], w0={"V": np.ones((3, 4))})
