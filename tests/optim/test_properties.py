"""Property-based tests: the claims' measurements on drawn shapes, hyperparameters and seeds."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gc_theory import centralize, optim
from gc_theory.gc.residuals import norm_gap_measurement
from gc_theory.optim.confinement import confinement_measurement
from gc_theory.optim.forms import ewma_bias_measurement, momentum_forms, nesterov_forms
from gc_theory.optim.projected_gd import projected_gd_measurement
from gc_theory.verify.context import Context
from gc_theory.problems import diagonal_quadratic, init_params, least_squares, tanh_regression

weight_shapes = st.one_of(
    st.tuples(st.integers(1, 6), st.integers(2, 12)),
    st.tuples(st.integers(1, 5), st.integers(1, 4), st.integers(1, 3), st.integers(2, 3)),
)
dtypes = st.sampled_from(["float64", "float32"])
seeds = st.integers(0, 2**16)


def _ctx(dtype: str, seed: int) -> Context:
    return Context.create("numpy", dtype, seed, salt="properties")


sgd_family = st.one_of(
    st.builds(lambda lr: optim.SGD(lr, gc="gradient"), st.floats(0.01, 0.5)),
    st.builds(lambda lr, mu, wd: optim.SGD(lr, mu, weight_decay=wd, gc="gradient"),
              st.floats(0.01, 0.2), st.floats(0.0, 0.95), st.floats(0.0, 0.2)),
    st.builds(lambda lr, mu, form: optim.SGD(lr, mu, nesterov=True, nesterov_form=form, gc="gradient"),
              st.floats(0.01, 0.2), st.floats(0.05, 0.95), st.sampled_from(["torch", "lookahead"])),
    st.builds(lambda lr0, r: optim.SGD(optim.tenfold_decay(lr0, r), 0.9, momentum_form="velocity", gc="gradient"),
              st.floats(0.01, 0.3), st.floats(5, 50)),
)  # fmt: skip


@given(shape=weight_shapes, opt=sgd_family, dtype=dtypes, seed=seeds)
def test_gc_sgd_family_is_confined_for_any_shape_lr_and_schedule(shape, opt, dtype, seed) -> None:
    ctx = _ctx(dtype, seed)
    shapes = {"w": shape}
    m = confinement_measurement(opt, init_params(ctx, shapes), tanh_regression(ctx, shapes), steps=12)
    assert m.passed, m


adaptive = st.sampled_from([
    optim.Adam(0.05), optim.AdamW(0.05, weight_decay=0.3), optim.RMSprop(0.01, momentum=0.5, centered=True),
    optim.AdaGrad(0.1), optim.Adadelta(), optim.SGDW(0.1, 0.9, weight_decay=0.2),
])  # fmt: skip


@given(shape=weight_shapes, opt=adaptive, dtype=dtypes, seed=seeds)
def test_gc_on_the_update_confines_every_optimiser(shape, opt, dtype, seed) -> None:
    ctx = _ctx(dtype, seed)
    shapes = {"w": shape}
    m = confinement_measurement(opt.replace(gc="update"), init_params(ctx, shapes), tanh_regression(ctx, shapes), 10, "update")
    assert m.passed, m


@given(shape=weight_shapes, dtype=dtypes, seed=seeds)
def test_norm_gap_along_a_trajectory(shape, dtype, seed) -> None:
    ctx = _ctx(dtype, seed)
    shapes = {"w": shape}
    traj = optim.record_trajectory(optim.SGD(0.1, 0.9, gc="gradient"), init_params(ctx, shapes), tanh_regression(ctx, shapes), 8)
    assert norm_gap_measurement(traj.grads).passed


@given(
    shape=weight_shapes,
    lr=st.floats(1e-3, 1.0),
    wd=st.floats(0.0, 1.0),
    gc=st.sampled_from(["gradient", "update"]),
    seed=seeds,
)
def test_one_gc_sgd_step_is_w_minus_lr_P_of_the_decayed_gradient(shape, lr, wd, gc, seed) -> None:
    """With coupled decay and no momentum the two placements coincide: w - lr P(g + wd w)."""
    rng = np.random.default_rng(seed)
    w, g = rng.standard_normal(shape), rng.standard_normal(shape) + 1.0
    opt = optim.SGD(lr, weight_decay=wd, gc=gc)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optim.GCSkipWarning)
        new, _ = opt.step({"w": w}, {"w": g}, opt.init({"w": w}))
    expected = w - lr * centralize(g + wd * w) if opt.centralizes(shape) else w - lr * (g + wd * w)
    np.testing.assert_allclose(new["w"], expected, rtol=0, atol=8 * np.finfo(float).eps * (np.abs(w).max() + lr * np.abs(g + wd * w).max() * shape[-1]))


def _quadratic_and_start(dtype, seed):
    ctx = _ctx(dtype, seed)
    return diagonal_quadratic(ctx, (4, 5)), {"w": ctx.normal(4, 5) * 3.0}


@given(beta=st.floats(0.0, 0.995), dtype=dtypes, seed=seeds)
def test_ewma_bias_correction_is_unbiased(beta, dtype, seed) -> None:
    ctx = _ctx(dtype, seed)
    c = ctx.asarray(ctx.rng.standard_normal((5, 7)) + 0.1)
    assert ewma_bias_measurement(c, beta, bias_correction=True, steps=30).passed


@given(lr=st.floats(0.01, 0.2), momentum=st.floats(0.05, 0.95), dtype=dtypes, seed=seeds)
def test_nesterov_forms_agree(lr, momentum, dtype, seed) -> None:
    assert nesterov_forms(*_quadratic_and_start(dtype, seed), lr=lr, momentum=momentum).passed


@given(lr=st.floats(0.01, 0.2), momentum=st.floats(0.05, 0.95), dtype=dtypes, seed=seeds)
def test_momentum_forms_agree(lr, momentum, dtype, seed) -> None:
    assert all(m.passed for m in momentum_forms(*_quadratic_and_start(dtype, seed), lr=lr, momentum=momentum))


@given(dtype=dtypes, seed=seeds)
def test_projected_gd_reaches_the_constrained_least_squares_minimiser(dtype, seed) -> None:
    ctx = _ctx(dtype, seed)
    W0 = ctx.asarray(0.5 * ctx.rng.standard_normal((3, 8)))
    assert projected_gd_measurement(least_squares(ctx), W0, 80, "gradient").passed
