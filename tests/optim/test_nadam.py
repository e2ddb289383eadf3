"""NAdam: 50-step float64 trajectories against torch.optim.NAdam, its GC placements and its argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from gc_theory import centralize, optim
from gc_theory.optim.nadam import nadam_mu

STEPS = 50
ATOL = 1e-12
SHAPES = {"conv.weight": (4, 3, 3, 3), "conv.bias": (4,), "fc.weight": (5, 6)}
CASES = {
    "default": dict(lr=0.01),
    "betas_wd": dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.05, eps=1e-6),
    "fast_warmup": dict(lr=0.02, momentum_decay=0.5),
}


def _setup(seed: int = 0):
    rng = np.random.default_rng(seed)
    params = {k: rng.standard_normal(s) for k, s in SHAPES.items()}
    noise = [{k: 0.3 * rng.standard_normal(s) + 0.2 for k, s in SHAPES.items()} for _ in range(STEPS)]
    return params, noise


def _grad(p, noise, gc=False):
    """A nonlinear, parameter-dependent stochastic gradient with a nonzero mean."""
    g = np.tanh(p) + 0.1 * p**2 + noise
    return centralize(g) if gc and g.ndim > 1 else g


def _ours(opt, params, noise, gc=False):
    state, out = opt.init(params), []
    for t in range(STEPS):
        params, state = opt.step(params, {k: _grad(p, noise[t][k], gc) for k, p in params.items()}, state)
        out.append(params)
    return out


def _torch(kwargs, params, noise, gc=False):
    torch = pytest.importorskip("torch", reason="torch.optim.NAdam is the oracle here")
    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    # torch keeps the product of the mu_t in its default dtype (float32 unless told otherwise), which alone moves
    # the iterates by 1e-10; with float64 as the default the oracle computes in float64 throughout, as we do.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        opt = torch.optim.NAdam(list(tensors.values()), foreach=False, **kwargs)
        out = []
        for t in range(STEPS):
            for k, p in tensors.items():
                p.grad = torch.from_numpy(_grad(p.detach().numpy(), noise[t][k], gc))
            opt.step()
            out.append({k: p.detach().numpy().copy() for k, p in tensors.items()})
    finally:
        torch.set_default_dtype(previous)
    return out


def _max_diff(a, b):
    return max(float(np.max(np.abs(x[k] - y[k]))) for x, y in zip(a, b) for k in x)


@pytest.mark.oracle
@pytest.mark.parametrize("case", list(CASES))
def test_trajectory_matches_torch_nadam(case: str) -> None:
    params, noise = _setup()
    theirs = _torch(CASES[case], params, noise)
    ours = _ours(optim.NAdam(**CASES[case]), params, noise)
    assert _max_diff(ours[-1:], [params]) > 1e-2, "the trajectory barely moved: the comparison would be vacuous"
    assert _max_diff(ours, theirs) <= ATOL


@pytest.mark.oracle
def test_the_momentum_decay_schedule_is_what_makes_it_torch() -> None:
    """Control: a constant mu = beta1 (Dozat's form, psi -> infinity) is measurably not torch's default."""
    params, noise = _setup()
    theirs = _torch(dict(lr=0.01), params, noise)
    constant = _ours(optim.NAdam(lr=0.01, momentum_decay=1e6), params, noise)
    assert _max_diff(constant, theirs) > 1e6 * ATOL


@pytest.mark.oracle
def test_gc_gradient_is_torch_on_centralised_gradients() -> None:
    params, noise = _setup(1)
    theirs = _torch(dict(lr=0.01), params, noise, gc=True)
    ours = _ours(optim.NAdam(lr=0.01, gc="gradient"), params, noise)
    assert _max_diff(ours, theirs) <= ATOL


def test_gc_update_keeps_each_weight_vector_on_its_plane() -> None:
    params, noise = _setup(2)
    last = _ours(optim.NAdam(lr=0.05, gc="update"), params, noise)[-1]
    drift = np.abs((last["fc.weight"] - params["fc.weight"]).sum(axis=1)).max()
    free = _ours(optim.NAdam(lr=0.05), params, noise)[-1]
    assert drift <= 1e-13
    assert np.abs((free["fc.weight"] - params["fc.weight"]).sum(axis=1)).max() > 1e-3


def test_mu_warms_up_from_half_beta1_towards_beta1() -> None:
    assert nadam_mu(0.9, 1, 4e-3) == pytest.approx(0.9 * (1 - 0.5 * 0.96**0.004), rel=1e-15)
    assert nadam_mu(0.9, 10**6, 4e-3) == pytest.approx(0.9, rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [(dict(momentum_decay=-1.0), ValueError, "momentum_decay"), (dict(betas=(0.9, 1.5)), ValueError, "betas"),
     (dict(eps=0.0), ValueError, "eps"), (dict(betas=0.9), TypeError, "betas")],
)
def test_bad_hyperparameters_name_the_argument(kwargs, error, name) -> None:
    with pytest.raises(error, match=name):
        optim.NAdam(**kwargs)
