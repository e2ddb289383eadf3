"""Optimisers: every backend and dtype, no mutation, replayable state, GC placement, bad input."""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest

from gc_theory import centralize, optim
from gc_theory.core.backend import to_numpy

SHAPES = {"conv.weight": (4, 3, 3, 3), "conv.bias": (4,), "fc.weight": (5, 6), "fc.bias": (5,)}

FACTORIES = {
    "sgd": lambda **kw: optim.SGD(0.1, **kw),
    "sgd_momentum": lambda **kw: optim.SGD(0.05, momentum=0.9, weight_decay=0.01, **kw),
    "sgd_nesterov": lambda **kw: optim.SGD(0.05, momentum=0.9, nesterov=True, **kw),
    "sgd_lookahead": lambda **kw: optim.SGD(0.05, momentum=0.9, nesterov=True, nesterov_form="lookahead", **kw),
    "sgd_ewma": lambda **kw: optim.SGD(0.5, momentum=0.9, momentum_form="ewma", **kw),
    "adagrad": lambda **kw: optim.AdaGrad(0.1, weight_decay=0.01, **kw),
    "rmsprop": lambda **kw: optim.RMSprop(0.01, momentum=0.5, centered=True, **kw),
    "adadelta": lambda **kw: optim.Adadelta(**kw),
    "adam": lambda **kw: optim.Adam(0.01, amsgrad=True, **kw),
    "adamw": lambda **kw: optim.AdamW(0.01, weight_decay=0.1, **kw),
    "sgdw": lambda **kw: optim.SGDW(0.05, momentum=0.9, weight_decay=0.1, **kw),
}


def _params(xp, dtype, rng, shapes=SHAPES):
    return {k: xp.asarray(rng.standard_normal(s), dtype=getattr(xp, dtype)) for k, s in shapes.items()}


def _grads(params, xp, rng):
    return {k: xp.asarray(rng.standard_normal(p.shape) + 0.5, dtype=p.dtype) for k, p in params.items()}


def _host(d):
    return {k: to_numpy(v).copy() for k, v in d.items()}


@pytest.mark.parametrize("name", list(FACTORIES))
@pytest.mark.parametrize("gc", [None, "gradient", "update"])
def test_every_optimiser_runs_on_every_backend_and_keeps_namespace_and_dtype(name, gc, xp, dtype, rng) -> None:
    opt = FACTORIES[name](gc=gc)
    params = _params(xp, dtype, rng)
    state = opt.init(params)
    for _ in range(3):
        grads = _grads(params, xp, rng)
        new, state = opt.step(params, grads, state)
        for k, p in new.items():
            assert type(p) is type(params[k]) and p.dtype == params[k].dtype and p.shape == params[k].shape
            assert bool(xp.all(xp.isfinite(p)))
        params = new
    assert state.step == 3


@pytest.mark.parametrize("name", list(FACTORIES))
def test_results_agree_across_backends(name, rng) -> None:
    """array_api_strict runs the same arithmetic as NumPy: the same numbers to rounding."""
    strict = pytest.importorskip("array_api_strict")
    runs = []
    for xp in (np, strict):
        r = np.random.default_rng(0)
        opt = FACTORIES[name](gc="gradient")
        params = _params(xp, "float64", r)
        state = opt.init(params)
        for _ in range(4):
            params, state = opt.step(params, _grads(params, xp, r), state)
        runs.append(_host(params))
    for k in runs[0]:
        np.testing.assert_allclose(runs[0][k], runs[1][k], rtol=0, atol=1e-13)


@pytest.mark.parametrize("name", list(FACTORIES))
@pytest.mark.parametrize("gc", [None, "gradient", "update"])
def test_step_never_mutates_inputs_and_replays_exactly(name, gc, rng) -> None:
    opt = FACTORIES[name](gc=gc)
    params = _params(np, "float64", rng)
    state = opt.init(params)
    params, state = opt.step(params, _grads(params, np, rng), state)  # a nonzero state
    grads = _grads(params, np, rng)
    before = (_host(params), _host(grads), copy.deepcopy(state))
    first = opt.step(params, grads, state)
    for k in params:
        assert np.array_equal(params[k], before[0][k]) and np.array_equal(grads[k], before[1][k])
    for key, buf in zip(state._fields[1:], state[1:]):
        for k, arr in buf.items():
            assert np.array_equal(arr, getattr(before[2], key)[k]), f"state.{key}[{k!r}] was modified"
    again = opt.step(params, grads, state)
    for k in params:
        assert np.array_equal(first[0][k], again[0][k])
        assert not np.shares_memory(first[0][k], params[k]) and not np.shares_memory(first[0][k], grads[k])
    for buf in first[1][1:]:
        for k, arr in buf.items():
            assert not np.shares_memory(arr, grads[k]) and not np.shares_memory(arr, params[k])


def test_state_is_independent_of_later_changes_to_the_callers_gradient(rng) -> None:
    """torch's first momentum buffer is the gradient itself: ours must be a copy."""
    opt = optim.SGD(0.1, momentum=0.9)
    params = _params(np, "float64", rng)
    grads = _grads(params, np, rng)
    _, state = opt.step(params, grads, opt.init(params))
    kept = state.momentum_buffer["fc.weight"].copy()
    grads["fc.weight"][...] = 123.0
    assert np.array_equal(state.momentum_buffer["fc.weight"], kept)


# --- GC placement ------------------------------------------------------------------


def _row_sums(d):
    return {k: to_numpy(v).reshape(v.shape[0], -1).sum(axis=1) for k, v in d.items() if v.ndim > 1}


@pytest.mark.parametrize("gc", ["gradient", "update"])
def test_gc_sgd_steps_have_zero_mean_per_unit_and_biases_are_untouched(gc, rng) -> None:
    params = _params(np, "float64", rng)
    grads = _grads(params, np, rng)
    with_gc, _ = optim.SGD(0.1, gc=gc).step(params, grads, optim.SGD(0.1, gc=gc).init(params))
    plain, _ = optim.SGD(0.1).step(params, grads, optim.SGD(0.1).init(params))
    for k in params:
        step = with_gc[k] - params[k]
        if params[k].ndim > 1:
            np.testing.assert_allclose(step, -0.1 * centralize(grads[k]), rtol=0, atol=1e-15)
        else:
            np.testing.assert_array_equal(with_gc[k], plain[k])


def test_gc_conv_only_centralises_only_4d_weights(rng) -> None:
    params = _params(np, "float64", rng)
    grads = _grads(params, np, rng)
    opt = optim.SGD(0.1, gc="gradient", gc_conv_only=True)
    new, _ = opt.step(params, grads, opt.init(params))
    sums = _row_sums({k: new[k] - params[k] for k in params})
    assert np.abs(sums["conv.weight"]).max() < 1e-14
    assert np.abs(sums["fc.weight"]).min() > 1e-3


def test_gc_gradient_comes_after_coupled_decay(rng) -> None:
    """SGD_GC of the reference code: d_p = P(grad + wd * w), then the step."""
    params = _params(np, "float64", rng)
    grads = _grads(params, np, rng)
    opt = optim.SGD(0.1, weight_decay=0.3, gc="gradient")
    new, _ = opt.step(params, grads, opt.init(params))
    for k in ("conv.weight", "fc.weight"):
        expected = params[k] - 0.1 * centralize(grads[k] + 0.3 * params[k])
        np.testing.assert_allclose(new[k], expected, rtol=0, atol=1e-14)


def test_gc_update_includes_the_decoupled_decay_term(rng) -> None:
    params = _params(np, "float64", rng)
    grads = _grads(params, np, rng)
    for gc, expect_zero in (("update", True), ("gradient", False)):
        opt = optim.AdamW(0.01, weight_decay=0.5, gc=gc)
        new, _ = opt.step(params, grads, opt.init(params))
        sums = np.abs(_row_sums({k: new[k] - params[k] for k in params})["fc.weight"]).max()
        assert (sums < 1e-15) == expect_zero, (gc, sums)


@pytest.mark.parametrize("shape", [(3, 1), (4, 1, 1, 1)])
def test_size_one_fan_in_is_skipped_with_a_warning(shape, rng) -> None:
    params = {"w": rng.standard_normal(shape), "b": rng.standard_normal(shape[0])}
    opt = optim.SGD(0.1, gc="gradient")
    with pytest.warns(optim.GCSkipWarning, match=r"params\['w'\].*length 1"):
        state = opt.init(params)
    grads = {k: np.ones_like(v) for k, v in params.items()}
    new, _ = opt.step(params, grads, state)
    np.testing.assert_allclose(new["w"], params["w"] - 0.1, rtol=0, atol=1e-15)


def test_no_warning_without_gc_or_for_biases(rng) -> None:
    params = {"w": rng.standard_normal((3, 1)), "b": rng.standard_normal(3)}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optim.SGD(0.1).init(params)
        optim.SGD(0.1, gc="gradient").init({"b": params["b"]})
        optim.SGD(0.1, gc="gradient", gc_conv_only=True).init(params)


def test_lookahead_gradient_point(rng) -> None:
    opt = optim.SGD(0.1, momentum=0.9, nesterov=True, nesterov_form="lookahead")
    params = _params(np, "float64", rng)
    state = opt.init(params)
    assert all(np.array_equal(opt.gradient_point(params, state)[k], params[k]) for k in params)
    params2, state = opt.step(params, _grads(params, np, rng), state)
    point = opt.gradient_point(params2, state)
    for k in params:
        np.testing.assert_allclose(point[k], params2[k] - 0.9 * state.momentum_buffer[k], atol=0)
    plain = optim.SGD(0.1)
    assert plain.gradient_point(params, plain.init(params)).keys() == params.keys()


# --- schedules and EWMA ------------------------------------------------------------


def test_schedules_values() -> None:
    s = optim.tenfold_decay(0.5, r=10)
    assert s(0) == 0.5 and math.isclose(s(10), 0.05) and math.isclose(s(25), 0.5 * 10**-2.5)
    e = optim.exponential_decay(1.0, decay_rate=0.5, decay_steps=4)
    assert math.isclose(e(2), 0.5**0.5) and math.isclose(e(8), 0.25)
    assert optim.exponential_decay(1.0, 0.5, 4, staircase=True)(7) == 0.5
    st = optim.step_decay(0.1, step_size=3, gamma=0.5)
    assert [st(t) for t in range(7)] == [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]
    assert optim.step_decay(0.1, 3)(np.int64(3)) == pytest.approx(0.01)


def test_schedule_is_called_with_completed_steps(rng) -> None:
    seen = []
    opt = optim.SGD(lambda t: seen.append(t) or 0.1)
    params = _params(np, "float64", rng)
    state = opt.init(params)
    for _ in range(3):
        params, state = opt.step(params, _grads(params, np, rng), state)
    assert seen == [0, 1, 2]


def test_ewma_bias_correction_on_a_constant() -> None:
    c = np.array([2.0, -3.0])
    for bc in (True, False):
        avg = optim.EWMA(0.9, bias_correction=bc)
        s = avg.init(c)
        for t in range(1, 6):
            s = avg.update(s, c)
            expected = c if bc else (1 - 0.9**t) * c
            np.testing.assert_allclose(avg.value(s), expected, rtol=4 * t * np.finfo(float).eps)


# --- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: optim.SGD(-0.1), ValueError, "lr must be"),
        (lambda: optim.SGD(float("nan")), ValueError, "lr must be"),
        (lambda: optim.SGD("0.1"), TypeError, "lr must be"),
        (lambda: optim.SGD(0.1, momentum=1.0), ValueError, r"momentum must be in \[0, 1\)"),
        (lambda: optim.SGD(0.1, momentum=-0.1), ValueError, "momentum"),
        (lambda: optim.SGD(0.1, weight_decay=-1), ValueError, "weight_decay"),
        (lambda: optim.SGD(0.1, dampening=1.5), ValueError, "dampening"),
        (lambda: optim.SGD(0.1, nesterov=True), ValueError, "nesterov"),
        (lambda: optim.SGD(0.1, 0.9, nesterov=True, momentum_form="ewma"), ValueError, "nesterov"),
        (lambda: optim.SGD(0.1, 0.9, nesterov=True, nesterov_form="look"), ValueError, "nesterov_form"),
        (lambda: optim.SGD(0.1, 0.9, momentum_form="heavy"), ValueError, "momentum_form"),
        (lambda: optim.SGD(0.1, gc="grad"), ValueError, "gc must be one of"),
        (lambda: optim.SGD(0.1, gc_conv_only=1), TypeError, "gc_conv_only"),
        (lambda: optim.Adam(betas=(0.9, 1.0)), ValueError, r"betas\[1\] must be in \[0, 1\)"),
        (lambda: optim.Adam(betas=(-0.1, 0.9)), ValueError, r"betas\[0\]"),
        (lambda: optim.Adam(betas=0.9), TypeError, "betas must be a pair"),
        (lambda: optim.Adam(eps=-1e-8), ValueError, "eps"),
        (lambda: optim.AdamW(lr=-1), ValueError, "lr"),
        (lambda: optim.RMSprop(alpha=1.2), ValueError, "alpha"),
        (lambda: optim.RMSprop(centered="yes"), TypeError, "centered"),
        (lambda: optim.Adadelta(rho=1.0), ValueError, "rho"),
        (lambda: optim.AdaGrad(lr_decay=-1), ValueError, "lr_decay"),
        (lambda: optim.EWMA(1.0), ValueError, "beta"),
        (lambda: optim.step_decay(0.1, 0), ValueError, "step_size"),
        (lambda: optim.tenfold_decay(0.1, 0), ValueError, "r must be > 0"),
        (lambda: optim.exponential_decay(-0.1, 0.5, 10), ValueError, "lr0"),
    ],
)
def test_bad_hyperparameters_name_the_argument(make, error, match) -> None:
    with pytest.raises(error, match=match):
        make()


def test_bad_steps_name_the_parameter_and_step(rng) -> None:
    opt = optim.Adam(0.01)
    params = _params(np, "float64", rng)
    state = opt.init(params)
    grads = _grads(params, np, rng)
    params, state = opt.step(params, grads, state)
    with pytest.raises(ValueError, match=r"missing \['fc.bias'\]"):
        opt.step(params, {k: v for k, v in grads.items() if k != "fc.bias"}, state)
    with pytest.raises(ValueError, match=r"unexpected \['extra'\]"):
        opt.step(params, {**grads, "extra": grads["fc.bias"]}, state)
    with pytest.raises(ValueError, match=r"grads\['fc.weight'\] has shape \(6, 5\)"):
        opt.step(params, {**grads, "fc.weight": grads["fc.weight"].T.copy()}, state)
    with pytest.raises(TypeError, match=r"grads\['fc.bias'\] has dtype float32"):
        opt.step(params, {**grads, "fc.bias": grads["fc.bias"].astype(np.float32)}, state)
    with pytest.raises(TypeError, match=r"grads\['fc.bias'\] must have a real floating dtype"):
        opt.step(params, {**grads, "fc.bias": np.ones(5, dtype=int)}, state)
    bad = grads["conv.weight"].copy()
    bad[1, 2, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"grads\['conv.weight'\] has 1 non-finite entry.*at step 1"):
        opt.step(params, {**grads, "conv.weight": bad}, state)
    bad[1, 2, 0, 0] = np.inf
    with pytest.raises(ValueError, match=r"conv.weight.*non-finite"):
        opt.step(params, {**grads, "conv.weight": bad}, state)
    with pytest.raises(TypeError, match="state must be the AdamState returned by adam's init or step, got SGDState"):
        opt.step(params, grads, optim.SGD(0.1).init(params))
    with pytest.raises(ValueError, match=r"state.exp_avg does not match params"):
        opt.step({"w": params["fc.weight"]}, {"w": grads["fc.weight"]}, state)
    with pytest.raises(TypeError, match="state must be the AdamState"):
        opt.step(params, grads, None)
    with pytest.raises(TypeError, match="params must be a dict"):
        opt.init([params["fc.weight"]])


def test_huge_but_finite_gradients_are_not_called_non_finite() -> None:
    """The fast finiteness check sums the gradient; an overflowing sum must not raise on its own."""
    params = {"w": np.zeros((2, 3))}
    grads = {"w": np.full((2, 3), 1e308)}
    opt = optim.SGD(1e-10)
    new, _ = opt.step(params, grads, opt.init(params))
    assert np.all(np.isfinite(new["w"]))


def test_a_bad_schedule_is_reported_with_its_step(rng) -> None:
    opt = optim.SGD(lambda t: 0.1 if t < 2 else -1.0)
    params = _params(np, "float64", rng)
    state = opt.init(params)
    for _ in range(2):
        params, state = opt.step(params, _grads(params, np, rng), state)
    with pytest.raises(ValueError, match="lr schedule returned -1.0 at step 2"):
        opt.step(params, _grads(params, np, rng), state)


@pytest.mark.parametrize("form", ["velocity", "torch", "ewma"])
def test_gc_on_the_update_leaves_the_momentum_buffer_uncentralised(form, rng) -> None:
    """Only the applied step is centralised; the buffer is the one a run without GC would keep."""
    params = _params(np, "float64", rng)
    grads = _grads(params, np, rng)
    with_gc, plain = (optim.SGD(0.1, 0.9, momentum_form=form, gc=gc) for gc in ("update", None))
    _, s_gc = with_gc.step(params, grads, with_gc.init(params))
    new_gc, s_gc = with_gc.step(params, grads, s_gc)
    _, s_plain = plain.step(params, grads, plain.init(params))
    new_plain, s_plain = plain.step(params, grads, s_plain)
    for k in params:
        np.testing.assert_array_equal(s_gc.momentum_buffer[k], s_plain.momentum_buffer[k])
        if params[k].ndim > 1:
            np.testing.assert_allclose(new_gc[k] - params[k], centralize(new_plain[k] - params[k]), rtol=0, atol=1e-14)


ADAPTIVE_EPS = {
    "adam": lambda eps: optim.Adam(0.01, eps=eps),
    "adamw": lambda eps: optim.AdamW(0.01, eps=eps),
    "adagrad": lambda eps: optim.AdaGrad(0.1, eps=eps),
    "rmsprop": lambda eps: optim.RMSprop(0.01, eps=eps),
    "adadelta": lambda eps: optim.Adadelta(eps=eps),
}


@pytest.mark.parametrize("name", list(ADAPTIVE_EPS))
def test_eps_zero_is_refused_before_it_divides_zero_by_zero(name) -> None:
    """With eps = 0 a zero gradient entry makes the step 0/0; the constructor must say so, not the weights."""
    with pytest.raises(ValueError, match=r"eps must be > 0, got 0.0"):
        ADAPTIVE_EPS[name](0.0)


@pytest.mark.parametrize("name", list(ADAPTIVE_EPS))
def test_eps_that_rounds_to_zero_in_the_params_dtype_is_refused(name) -> None:
    """1e-50 is positive as a Python float but 0 in float32: the same 0/0, caught when the dtype is known."""
    opt = ADAPTIVE_EPS[name](1e-50)
    with pytest.raises(ValueError, match=r"eps=1e-50 rounds below .* float32.*params\['w'\]"):
        opt.init({"w": np.zeros((2, 3), dtype=np.float32)})
    params = {"w": np.zeros((2, 3))}  # representable in float64: a zero gradient gives a zero step
    new, _ = opt.step(params, {"w": np.zeros((2, 3))}, opt.init(params))
    np.testing.assert_array_equal(new["w"], 0.0)


@pytest.mark.parametrize("lr", [np.float64(0.1), np.asarray(0.1), np.float32(0.1)])
def test_a_schedule_returning_a_numpy_scalar_or_0d_array_is_a_number(lr, rng) -> None:
    params = _params(np, "float64", rng)
    grads = _grads(params, np, rng)
    by_schedule, by_number = optim.SGD(lambda t: lr), optim.SGD(float(lr))
    new, _ = by_schedule.step(params, grads, by_schedule.init(params))
    ref, _ = by_number.step(params, grads, by_number.init(params))
    for k in params:
        np.testing.assert_array_equal(new[k], ref[k])


@pytest.mark.parametrize("value", [np.ones(2) * 0.1, "0.1", None])
def test_a_schedule_returning_something_else_is_refused_with_its_step(value, rng) -> None:
    opt = optim.SGD(lambda t: value)
    params = _params(np, "float64", rng)
    with pytest.raises((TypeError, ValueError), match="lr schedule returned .* at step 0"):
        opt.step(params, _grads(params, np, rng), opt.init(params))


def test_a_state_slot_of_the_wrong_shape_names_the_slot(rng) -> None:
    opt = optim.Adam(0.01)
    params = _params(np, "float64", rng)
    grads = _grads(params, np, rng)
    _, state = opt.step(params, grads, opt.init(params))
    bad = copy.deepcopy(state)
    _set_slot(bad, "exp_avg", "fc.weight", np.zeros((6, 5)))
    with pytest.raises(ValueError, match=r"state.exp_avg\['fc.weight'\] has shape \(6, 5\).*\(5, 6\)"):
        opt.step(params, grads, bad)


def _set_slot(state, slot, name, value):
    getattr(state, slot)[name] = value


FORMER = ("sgd", "sgdw", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "ewma", "trajectory")


def test_the_former_lowercase_names_are_gone() -> None:
    """One constructor per optimiser, named as in torch.optim; record_trajectory records a run."""
    # optim.sgd, optim.ewma and optim.trajectory are the modules of those names; no callable goes by them.
    assert [name for name in FORMER if callable(getattr(optim, name, None))] == []
    assert not set(FORMER) & set(optim.__all__)


def test_the_confinement_family_is_one_table_with_the_registered_ids() -> None:
    from gc_theory.claims import registry
    from gc_theory.claims.gc.confinement import CONFINEMENT

    ids = [row.id for row in CONFINEMENT]
    names = ("sgd", "momentum", "nesterov", "coupled_decay", "decoupled_decay", "adaptive_update")
    assert ids == [f"gc.confinement.{n}" for n in names]
    for row in CONFINEMENT:
        assert registry()[row.id].statement == row.statement and row.optimisers()


# --- reliability: what a user hit --------------------------------------------------------


@pytest.mark.parametrize("make", [optim.Adam, optim.AdamW, optim.AdaGrad, optim.RMSprop, optim.Adadelta],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("eps", [0.0, -1e-8])
def test_adaptive_optimisers_refuse_an_eps_that_lets_a_zero_gradient_divide_by_zero(make, eps) -> None:
    # With eps = 0 a gradient entry that is 0 from the start makes 0/0 = NaN at the first step.
    with pytest.raises(ValueError, match=r"eps must be > 0"):
        make(eps=eps)


@pytest.mark.parametrize("make", [optim.Adam, optim.AdamW, optim.AdaGrad, optim.RMSprop, optim.Adadelta],
                         ids=lambda f: f.__name__)
def test_adaptive_optimisers_keep_zero_gradient_entries_finite(make) -> None:
    opt = make(eps=1e-300)
    params = {"w": np.ones((2, 3))}
    grads = {"w": np.zeros((2, 3))}
    state = opt.init(params)
    for _ in range(3):
        params, state = opt.step(params, grads, state)
    assert np.all(np.isfinite(params["w"]))


def test_a_schedule_may_return_a_0d_array_but_not_a_vector() -> None:
    params = {"w": np.ones((2, 3))}
    grads = {"w": np.full((2, 3), 0.5)}
    by_array = optim.SGD(lr=lambda t: np.asarray(0.1))
    by_float = optim.SGD(lr=0.1)
    a, _ = by_array.step(params, grads, by_array.init(params))
    b, _ = by_float.step(params, grads, by_float.init(params))
    np.testing.assert_array_equal(a["w"], b["w"])
    bad = optim.SGD(lr=lambda t: np.asarray([0.1]))
    with pytest.raises(TypeError, match="lr schedule"):
        bad.step(params, grads, bad.init(params))


def test_a_state_slot_of_the_wrong_shape_is_named() -> None:
    opt = optim.SGD(lr=0.1, momentum=0.9)
    params = {"w": np.ones((2, 3))}
    state = opt.init(params)
    params, state = opt.step(params, {"w": np.ones((2, 3))}, state)
    wrong = {"w": np.ones((3, 2))}
    with pytest.raises(ValueError, match=r"state.*'w'.*shape"):
        opt.step(wrong, {"w": np.ones((3, 2))}, state)
