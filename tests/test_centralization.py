"""The GC operator: properties over random shapes, values and dtypes, on every backend."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gc_theory import as_columns, centralize, fan_in, from_columns, is_centralizable, projection_matrix, unit_vector
from gc_theory.backend import get_namespace, to_numpy
from gc_theory.claims import gc as gc_claims

FC = st.tuples(st.integers(1, 40), st.integers(1, 60))
CONV = st.tuples(st.integers(1, 12), st.integers(1, 8), st.integers(1, 4), st.integers(1, 4))
SHAPES = st.one_of(FC, CONV)
DTYPES = st.sampled_from([np.float64, np.float32])
BACKENDS = st.sampled_from(["numpy", "array_api_strict"])


@st.composite
def gradients(draw: st.DrawFn, shapes: st.SearchStrategy = SHAPES) -> np.ndarray:
    """Bounded finite gradients with a per-unit offset (real gradients rarely have zero mean)."""
    shape = draw(shapes)
    dtype = draw(DTYPES)
    values = draw(arrays(dtype, shape, elements=st.floats(-100, 100, allow_nan=False, width=32)))
    offset = draw(st.floats(-50, 50, width=32))
    return (values + dtype(offset)).astype(dtype)


def _on(backend: str, host: np.ndarray):
    return get_namespace(backend).asarray(host)


@given(gradients(), BACKENDS)
def test_centralize_equals_P_on_the_column_view(g: np.ndarray, backend: str) -> None:
    x = _on(backend, g)
    m = gc_claims.matches_projection_residual(x, centralize(x))
    assert m.passed, m


@given(gradients(), BACKENDS)
def test_centralize_is_idempotent(g: np.ndarray, backend: str) -> None:
    x = _on(backend, g)
    once = centralize(x)
    m = gc_claims.repeat_residual(once, centralize(once), x, fan_in(g.shape))
    assert m.passed, m


@given(gradients(), BACKENDS)
def test_reflection_control_is_caught_whenever_the_mean_is_visible(g: np.ndarray, backend: str) -> None:
    """The control of gc.centralize.idempotent fails on every input whose mean is far above rounding."""
    x = _on(backend, g)
    M = fan_in(g.shape)
    reflect = lambda v: 2 * centralize(v) - v  # noqa: E731
    once = reflect(x)
    m = gc_claims.repeat_residual(once, reflect(once), x, M)
    means = np.abs(g.astype(np.float64).reshape(g.shape[0], -1).mean(axis=1))
    if M > 1 and means.max() > 1e3 * m.tolerance:
        assert not m.passed


@given(st.integers(1, 80), DTYPES, BACKENDS)
def test_P_is_a_symmetric_idempotent_projection_that_removes_e(M: int, dtype: type, backend: str) -> None:
    xp = get_namespace(backend)
    dt = np.dtype(dtype).name
    P = projection_matrix(M, xp=xp, dtype=dt)
    e = unit_vector(M, xp=xp, dtype=dt)
    for m in (
        gc_claims.symmetry_residual(P),
        gc_claims.idempotence_residual(P),
        gc_claims.annihilation_residual(P, e),
        gc_claims.spectrum_residual(P),
    ):
        assert m.passed, m


@given(st.integers(2, 60), st.integers(1, 20), DTYPES, st.integers(0, 2**32 - 1))
def test_norm_gap_identity(M: int, n: int, dtype: type, seed: int) -> None:
    rng = np.random.default_rng(seed)
    g = (rng.standard_normal((n, M)) + rng.standard_normal((n, 1))).astype(dtype)
    m = gc_claims.pythagoras_residual(g, centralize(g, axis=1))
    assert m.passed, m


@given(st.integers(2, 40), DTYPES, st.integers(0, 2**32 - 1))
def test_P_does_not_raise_the_spectral_norm_of_a_symmetric_matrix(M: int, dtype: type, seed: int) -> None:
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((M, M))
    H = ((A + A.T) / 2).astype(dtype)
    m = gc_claims.hessian_bound_residual(projection_matrix(M, dtype=np.dtype(dtype).name), H)
    assert m.passed, m


@given(SHAPES)
def test_column_view_round_trips(shape: tuple[int, ...]) -> None:
    w = np.arange(math.prod(shape), dtype=np.float64).reshape(shape)
    cols = as_columns(w)
    assert cols.shape == (fan_in(shape), shape[0])
    np.testing.assert_array_equal(cols[:, 0], w[0].reshape(-1))  # column i is output unit i
    np.testing.assert_array_equal(from_columns(cols, shape), w)


def test_explicit_axis_reaches_output_last_layouts(rng: np.random.Generator) -> None:
    """A Keras/Flax kernel (kh, kw, in, out) centralised over axes (0, 1, 2) matches the PyTorch layout."""
    torch_layout = rng.standard_normal((8, 3, 3, 3))
    keras_layout = np.transpose(torch_layout, (2, 3, 1, 0)).copy()
    expected = np.transpose(centralize(torch_layout), (2, 3, 1, 0))
    np.testing.assert_allclose(centralize(keras_layout, axis=(0, 1, 2)), expected, rtol=0, atol=1e-14)
    np.testing.assert_allclose(centralize(keras_layout, axis=(-4, -3, -2)), expected, rtol=0, atol=1e-14)


def test_centralize_runs_on_every_backend(xp, dtype: str, rng: np.random.Generator) -> None:
    g = xp.asarray(rng.standard_normal((6, 4, 3, 3)), dtype=getattr(xp, dtype))
    out = centralize(g)
    assert type(out) is type(g) and out.dtype == g.dtype
    means = to_numpy(xp.mean(out, axis=(1, 2, 3)))
    assert np.abs(means).max() < 36 * np.finfo(dtype).eps * float(xp.max(xp.abs(g)))


@pytest.mark.parametrize("shape", [(), (7,)])
def test_scalars_and_vectors_are_returned_unchanged_as_copies(shape: tuple[int, ...]) -> None:
    b = np.linspace(1.0, 2.0, math.prod(shape)).reshape(shape)
    out = centralize(b)
    np.testing.assert_array_equal(out, b)
    assert out is not b and not np.shares_memory(out, b)


def test_an_explicit_axis_centralises_a_vector() -> None:
    v = np.array([1.0, 2.0, 6.0])
    np.testing.assert_array_equal(centralize(v, axis=0), [-2.0, -1.0, 3.0])


def test_input_is_never_modified_unless_out_is_given(rng: np.random.Generator) -> None:
    g = rng.standard_normal((5, 9))
    before = g.copy()
    centralize(g)
    np.testing.assert_array_equal(g, before)
    assert centralize(g, out=g) is g
    np.testing.assert_allclose(g, before - before.mean(axis=1, keepdims=True), atol=1e-15)


def test_out_on_a_strided_view_falls_back_to_the_generic_path(rng: np.random.Generator) -> None:
    g = rng.standard_normal((6, 10))
    out = np.zeros((6, 20))[:, ::2]
    centralize(g, out=out)
    np.testing.assert_allclose(out, g - g.mean(axis=1, keepdims=True), atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_centralize_tolerance_covers_gradual_underflow(dtype: type) -> None:
    """Subnormal gradients: the mean underflows, and the bound's absolute term accounts for it."""
    tiny = np.finfo(dtype).smallest_subnormal
    g = np.array([[tiny, 0.0], [3 * tiny, -tiny]], dtype=dtype)
    assert gc_claims.matches_projection_residual(g, centralize(g)).passed
    once = centralize(g)
    assert gc_claims.repeat_residual(once, centralize(once), g, 2).passed


def test_large_array_spans_several_cache_blocks(rng: np.random.Generator) -> None:
    g = rng.standard_normal((3000, 70))  # > BLOCK_BYTES, with a partial last block
    np.testing.assert_allclose(centralize(g), g - g.mean(axis=1, keepdims=True), rtol=0, atol=1e-14)


def test_size_one_weight_vectors_are_zeroed_and_flagged() -> None:
    g = np.arange(4.0).reshape(4, 1)
    np.testing.assert_array_equal(centralize(g), np.zeros((4, 1)))
    assert not is_centralizable((4, 1)) and not is_centralizable((8, 1, 1, 1)) and not is_centralizable((5,))
    assert is_centralizable((4, 2)) and is_centralizable((5,), axis=0)
    np.testing.assert_array_equal(to_numpy(projection_matrix(1)), [[0.0]])


def test_nan_propagates_to_its_own_weight_vector_only() -> None:
    g = np.ones((3, 4))
    g[1, 2] = np.nan
    out = centralize(g)
    assert np.isnan(out[1]).all() and np.isfinite(out[[0, 2]]).all()


@pytest.mark.parametrize("bad", [np.arange(6).reshape(2, 3), np.ones((2, 3), dtype=bool), np.ones((2, 3), dtype=complex)])
def test_non_real_floating_input_is_a_type_error_naming_the_dtype(bad: np.ndarray) -> None:
    with pytest.raises(TypeError, match=rf"g must have a real floating dtype.*got {bad.dtype.name}"):
        centralize(bad)


def test_non_array_input_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="g must be an array, got list"):
        centralize([[1.0, 2.0]])


@pytest.mark.parametrize(("axis", "message"), [(2, "axis=2 is out of range"), ((1, 1), "repeated axis"), (-3, "axis=-3")])
def test_bad_axis_is_a_clear_error(axis, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        centralize(np.ones((2, 3)), axis=axis)


def test_mismatched_out_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"out must match g: shape \(2, 3\)"):
        centralize(np.ones((2, 3)), out=np.ones((3, 2)))
    with pytest.raises(ValueError, match="dtype float64"):
        centralize(np.ones((2, 3)), out=np.ones((2, 3), dtype=np.float32))


@pytest.mark.parametrize("M", [0, -1])
def test_projection_size_must_be_positive(M: int) -> None:
    with pytest.raises(ValueError, match="M must be >= 1"):
        projection_matrix(M)


def test_column_views_and_P_on_every_backend(xp, dtype: str, rng: np.random.Generator) -> None:
    host = rng.standard_normal((5, 2, 3, 3))
    w = xp.asarray(host, dtype=getattr(xp, dtype))
    cols = as_columns(w)
    assert tuple(cols.shape) == (18, 5)
    np.testing.assert_array_equal(to_numpy(from_columns(cols, w.shape)), to_numpy(w))
    P = projection_matrix(18, xp=xp, dtype=dtype)
    e = unit_vector(18, xp=xp, dtype=dtype)
    assert type(P) is type(w) and P.dtype == w.dtype and e.dtype == w.dtype
    np.testing.assert_allclose(to_numpy(from_columns(P @ cols, w.shape)), to_numpy(centralize(w)),
                               rtol=0, atol=50 * np.finfo(dtype).eps * np.abs(host).max())  # fmt: skip


def test_to_numpy_and_available_backends() -> None:
    from gc_theory.backend import available_backends

    assert available_backends()[:2] == ["numpy", "array_api_strict"]
    strict = get_namespace("array_api_strict").asarray([1.0, 2.0])
    np.testing.assert_array_equal(to_numpy(strict), [1.0, 2.0])


# --- every floating dtype NumPy has, both byte orders; read-only out; overflow -------------

FLOATING = [np.float16, np.float32, np.float64, np.longdouble]
BYTE_ORDERS = ["=", ">" if np.little_endian else "<"]  # native and swapped


@pytest.mark.parametrize("order", BYTE_ORDERS, ids=["native", "swapped"])
@pytest.mark.parametrize("dtype", FLOATING, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(6, 5), (4, 3, 3, 3), (3, 70000)], ids=["fc", "conv", "wide"])
def test_centralize_computes_in_every_floating_dtype_and_byte_order(shape, dtype, order) -> None:
    rng = np.random.default_rng(1)
    host = rng.standard_normal(shape) + 3.0
    g = host.astype(np.dtype(dtype).newbyteorder(order))
    expected = (g.astype(np.longdouble) - g.astype(np.longdouble).mean(axis=tuple(range(1, g.ndim)), keepdims=True))
    for result in (centralize(g), centralize(g, out=np.empty_like(g)), centralize(g.copy(), out=None)):
        assert result.dtype.newbyteorder("=") == np.dtype(dtype), result.dtype
        # One rounding of the subtraction plus the mean's error (pairwise sum): well within 8 eps of 3-ish values.
        eps = float(np.finfo(dtype).eps)
        assert np.max(np.abs(result.astype(np.longdouble) - expected)) <= 8 * eps * 4, (dtype, order)
    inplace = g.copy()
    assert centralize(inplace, out=inplace) is inplace
    np.testing.assert_array_equal(inplace, centralize(g))  # in place and out of place round alike


def test_centralize_refuses_a_read_only_out() -> None:
    g = np.ones((3, 4))
    frozen = g.copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="out.*read-only"):
        centralize(frozen, out=frozen)
    assert np.all(frozen == 1.0)


def test_centralize_refuses_a_read_only_memmap(tmp_path) -> None:
    path = tmp_path / "g.dat"
    np.arange(12.0).reshape(3, 4).tofile(path)
    mapped = np.memmap(path, dtype=np.float64, mode="r", shape=(3, 4))
    with pytest.raises(ValueError, match="out.*read-only"):
        centralize(mapped, out=mapped)
    assert centralize(mapped).sum() == pytest.approx(0.0)  # reading it is fine


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2, 4), (2, 5000)])
def test_centralize_near_the_top_of_the_float_range_stays_finite(dtype, shape) -> None:
    big = np.finfo(dtype).max / 2
    g = np.full(shape, big, dtype=dtype)
    g[:, ::2] = big * dtype(0.5)
    result = centralize(g)
    assert np.all(np.isfinite(result))
    exact = g.astype(np.longdouble) - g.astype(np.longdouble).mean(axis=1, keepdims=True)
    assert np.max(np.abs(result - exact)) <= 8 * np.finfo(dtype).eps * big


def test_non_finite_gradients_still_propagate() -> None:
    g = np.ones((2, 3))
    g[0, 1] = np.inf
    out = centralize(g)
    assert not np.all(np.isfinite(out[0])) and np.all(out[1] == 0)


@pytest.mark.parametrize("bad, error, match", [
    (dict(axis=1.0), TypeError, "axis"),
    (dict(axis="1"), TypeError, "axis"),
    (dict(axis=True), TypeError, "axis"),
])  # fmt: skip
def test_centralize_bad_axis_is_named(bad, error, match) -> None:
    with pytest.raises(error, match=match):
        centralize(np.ones((2, 3)), **bad)


def test_centralize_refuses_a_masked_array() -> None:
    with pytest.raises(TypeError, match="masked"):
        centralize(np.ma.masked_array(np.ones((2, 3)), mask=[[0, 1, 0], [0, 0, 0]]))


def test_projection_matrix_bad_arguments_are_named() -> None:
    with pytest.raises(TypeError, match="xp"):
        projection_matrix(3, xp="numpy")
    with pytest.raises(ValueError, match=r"M=100000.*GiB"):
        projection_matrix(100_000)


@pytest.mark.parametrize("dtype", [">f8", "<f8", ">f4", "<f4", "float16", "longdouble"])
def test_a_gc_sgd_step_stays_on_the_plane_for_every_dtype(dtype) -> None:
    from gc_theory import optim

    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 6)).astype(dtype)
    g = (rng.standard_normal((4, 6)) + 2.0).astype(dtype)
    opt = optim.sgd(lr=0.5, gc="gradient")
    new, _ = opt.step({"w": w}, {"w": g}, opt.init({"w": w}))
    drift = np.abs((new["w"].astype(np.longdouble) - w.astype(np.longdouble)).sum(axis=1)).max()
    assert drift <= 16 * float(np.finfo(np.dtype(dtype)).eps) * 6 * 2.5, drift
