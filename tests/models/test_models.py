"""Models: every gradient agrees with central differences; im2col convolution agrees with a direct loop; bad input fails clearly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gc_theory.core.backend import get_namespace, to_numpy
from gc_theory.models.cases import check_case, flat_case, planted_bugs
from gc_theory.gradcheck import check_gradient
from gc_theory.gradcheck.case import Layout
from gc_theory.models import (
    Conv2d,
    Flatten,
    Linear,
    MeanSquaredError,
    Network,
    ReLU,
    Sequential,
    SoftmaxCrossEntropy,
    Tanh,
    catalogue,
    col2im,
    im2col,
    logsumexp,
    mlp,
    small_cnn,
)
from gc_theory.models.catalogue import layer_case

NUMPY = get_namespace("numpy")
CASES = catalogue()
NAMES = [c.name for c in CASES]
#: Entries checked one by one per array (all of them for smaller arrays).
ENTRIES_PER_ARRAY = 12


def test_catalogue_names_are_unique_and_cover_every_layer_type() -> None:
    assert len(set(NAMES)) == len(NAMES)
    kinds = {type(c.module).__name__ for c in CASES}
    assert {"Linear", "Conv2d", "Flatten", "ReLU", "Tanh", "Sigmoid", "Sequential", "SoftmaxCrossEntropy", "MeanSquaredError", "Network"} <= kinds


@pytest.mark.parametrize("name", NAMES)
def test_every_array_declares_its_layout(name: str) -> None:
    case = CASES[NAMES.index(name)]
    assert set(case.layout) == set(case.point)
    assert case.layout["input"] == Layout()  # data: no output units, never a transposed-weight suspect
    for key, layout in case.layout.items():
        if key != "input":
            assert layout.output_axis == 0 and layout.transposable == (case.point[key].ndim >= 2)


def test_the_transposed_bug_goes_where_the_layout_says_not_where_a_name_suggests() -> None:
    logits = flat_case(next(c for c in CASES if c.name == "loss.softmax_cross_entropy"), NUMPY)
    assert logits.blocks["input"][1] == (5, 4) and logits.weight_block is None
    conv = flat_case(next(c for c in CASES if c.name == "layer.conv2d"), NUMPY)
    assert conv.weight_block == conv.blocks["weight"]
    renamed = type(conv)(conv.name, conv.x, conv.f, conv.grad, {"kernel": conv.blocks["weight"]}, None, {"kernel": Layout(0, True)})
    assert renamed.weight_block == conv.blocks["weight"]


@pytest.mark.parametrize("name", NAMES)
def test_gradient_has_the_keys_and_shapes_of_the_point(name: str, xp, dtype: str) -> None:
    case = next(c for c in catalogue(xp, dtype) if c.name == name)
    value, grads = case.value_and_grad(case.point)
    assert value.shape == () and list(grads) == list(case.point)
    for key, g in grads.items():
        assert g.shape == case.point[key].shape and g.dtype == case.point[key].dtype, key


@pytest.mark.parametrize("name", NAMES)
def test_every_gradient_agrees_with_central_differences_along_random_directions(name: str, backend: str, dtype: str) -> None:
    case = next(c for c in catalogue(get_namespace(backend), dtype, seed=11) if c.name == name)
    for m in check_case(case, seed=3):
        assert m.passed, m


@pytest.mark.parametrize("name", NAMES)
def test_gradient_entries_agree_with_central_differences(name: str) -> None:
    """Entry by entry, float64, for up to ENTRIES_PER_ARRAY entries of every array, with the public checker."""
    case = next(c for c in CASES if c.name == name)
    rng = np.random.default_rng(5)
    for key, x in case.point.items():
        size = int(np.prod(x.shape))
        entries = rng.choice(size, size=min(size, ENTRIES_PER_ARRAY), replace=False)
        f = lambda v, key=key: case.value({**case.point, key: v})  # noqa: E731
        grad = lambda v, key=key: case.value_and_grad({**case.point, key: v})[1][key]  # noqa: E731
        pieces = (lambda v, key=key: case.kinks({**case.point, key: v})) if case.kinks(case.point).shape[0] else None
        report = check_gradient(f, grad, x, entries=entries, pieces=pieces)
        assert report.passed, (key, report)


OWN_BUGS = [b.name for b in planted_bugs() if b.entries is None]


@pytest.mark.parametrize("bug", OWN_BUGS)
def test_every_cases_own_planted_bug_is_caught_by_a_wide_margin(bug: str, dtype: str) -> None:
    case = next(b.case for b in planted_bugs(dtype=dtype) if b.name == bug)
    assert max(m.ratio for m in check_case(case, seed=0, directions=4)) > 10


def test_planted_bugs_cover_the_generic_perturbations_and_every_cases_own() -> None:
    bugs = planted_bugs()
    names = [b.name for b in bugs]
    assert len(set(names)) == len(names)
    assert {"layer.weightnorm_linear.unprojected_v", "layer.batch_norm.no_xhat_term", "layer.mean_only_batch_norm.uncentred"} <= set(names)
    for b in bugs:
        assert b.name.startswith(b.of)
        if b.entries is not None:
            assert b.entries.size and b.bug in ("sign_flip", "factor_2", "transposed")


def test_the_former_planted_bug_paths_are_gone() -> None:
    """One list of planted bugs: gc_theory.models.cases.planted_bugs; no second path to it."""
    from gc_theory import models

    assert not hasattr(models, "planted_bugs")
    for gone in ("gc_theory.gradcheck.cases", "gc_theory.gradcheck._model_cases", "gc_theory.gradcheck.steps"):
        with pytest.raises(ModuleNotFoundError):
            __import__(gone)


# --- convolution against a direct loop (an independent implementation) -----------------


def direct_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, padding: int) -> np.ndarray:
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp_ = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh, ow = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    y = np.empty((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp_[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
            y[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w) + b
    return y


conv_shapes = st.tuples(
    st.integers(1, 3),  # batch
    st.integers(1, 3),  # in channels
    st.integers(1, 4),  # out channels
    st.integers(1, 3),  # kh
    st.integers(1, 3),  # kw
    st.integers(1, 3),  # stride
    st.integers(0, 2),  # padding
    st.integers(3, 7),  # height
    st.integers(3, 7),  # width
)


@given(conv_shapes, st.integers(0, 2**16))
def test_conv2d_matches_a_direct_loop(shape: tuple[int, ...], seed: int) -> None:
    n, c, o, kh, kw, s, p, h, w = shape
    rng = np.random.default_rng(seed)
    conv = Conv2d(c, o, (kh, kw), stride=s, padding=p)
    params = conv.init(rng)
    x = rng.standard_normal((n, c, h, w))
    y = conv(params, x)
    ref = direct_conv(x, params["weight"], params["bias"], s, p)
    assert np.max(np.abs(y - ref)) <= 4 * (c * kh * kw + 1) * np.finfo(float).eps * max(1.0, np.max(np.abs(ref)))


@given(conv_shapes, st.integers(0, 2**16))
def test_col2im_is_the_adjoint_of_im2col(shape: tuple[int, ...], seed: int) -> None:
    """<im2col(x), c> = <x, col2im(c)> for all x, c: the backward pass is the transpose of the forward."""
    n, c, _, kh, kw, s, p, h, w = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w))
    cols = im2col(x, (kh, kw), s, p)
    z = rng.standard_normal(cols.shape)
    lhs, rhs = np.sum(cols * z), np.sum(x * col2im(z, x.shape, (kh, kw), s, p))
    assert abs(lhs - rhs) <= 4 * cols.size * np.finfo(float).eps * np.sum(np.abs(cols * z))


@given(conv_shapes, st.integers(0, 2**16), st.sampled_from(["float64", "float32"]))
def test_conv2d_gradients_pass_the_central_difference_check_for_drawn_shapes(shape: tuple[int, ...], seed: int, dtype: str) -> None:
    n, c, o, kh, kw, s, p, h, w = shape
    case = layer_case("conv", Conv2d(c, o, (kh, kw), stride=s, padding=p), (n, c, h, w), NUMPY, getattr(NUMPY, dtype), np.random.default_rng(seed))
    for m in check_case(case, seed=seed + 1):
        assert m.passed, m


@given(st.integers(1, 5), st.integers(1, 6), st.integers(1, 6), st.booleans(), st.integers(0, 2**16))
def test_linear_gradients_pass_the_central_difference_check_for_drawn_shapes(n: int, d: int, k: int, bias: bool, seed: int) -> None:
    case = layer_case("linear", Linear(d, k, bias=bias), (n, d), NUMPY, NUMPY.float64, np.random.default_rng(seed))
    assert all(m.passed for m in check_case(case, seed=seed + 1))


# --- forward values that are known in closed form --------------------------------------


def test_logsumexp_does_not_overflow_and_matches_the_definition(xp) -> None:
    z = xp.asarray([[1000.0, 1000.0], [-1000.0, -1000.0], [0.0, np.log(3.0)]])
    got = to_numpy(logsumexp(z, axis=1))
    np.testing.assert_allclose(got, [1000 + np.log(2), -1000 + np.log(2), np.log(4.0)], rtol=1e-15)


def test_cross_entropy_of_uniform_logits_is_log_k_and_its_gradient_sums_to_zero(xp) -> None:
    loss = SoftmaxCrossEntropy()
    logits = xp.zeros((3, 5), dtype=xp.float64)
    value, cache = loss.forward(logits, xp.asarray([0, 2, 4]))
    assert abs(float(value) - np.log(5)) < 1e-15
    assert np.allclose(to_numpy(xp.sum(loss.backward(cache), axis=1)), 0.0, atol=1e-16)


def test_sigmoid_is_finite_for_huge_inputs() -> None:
    from gc_theory.models import Sigmoid

    y = Sigmoid()({}, np.asarray([[-1e4, 0.0, 1e4]]))
    assert np.array_equal(y, [[0.0, 0.5, 1.0]])


def test_sequential_keys_follow_pytorch_and_nest() -> None:
    net = Sequential(Linear(3, 4), ReLU(), Sequential(Linear(4, 2), Tanh()))
    assert list(net.param_shapes()) == ["0.weight", "0.bias", "2.0.weight", "2.0.bias"]
    params = net.init(np.random.default_rng(0))
    y, cache = net.forward(params, np.ones((2, 3)))
    dx, grads = net.backward(params, cache, np.ones_like(y))
    assert list(grads) == list(params) and dx.shape == (2, 3)


def test_builders_give_the_digits_shapes() -> None:
    cnn, net = small_cnn(), mlp([64, 32, 10])
    assert cnn.body.output_shape((7, 1, 8, 8)) == (7, 10)
    assert cnn.param_shapes()["0.weight"] == (8, 1, 3, 3) and cnn.param_shapes()["2.weight"] == (16, 8, 3, 3)
    params = net.init(0)
    loss, grads = net.loss_and_grad(params, (np.zeros((4, 64)), np.arange(4)))
    assert abs(float(loss) - np.log(10)) < 0.5 and set(grads) == set(params)
    assert net.accuracy(params, (np.zeros((4, 64)), np.zeros(4, dtype=np.int64))) in (0.0, 1.0)


def test_inputs_are_not_modified() -> None:
    net = small_cnn()
    params = net.init(1)
    x = np.random.default_rng(0).standard_normal((3, 1, 8, 8))
    before = {k: v.copy() for k, v in params.items()}, x.copy()
    net.loss_and_grad(params, (x, np.arange(3)))
    assert all(np.array_equal(params[k], before[0][k]) for k in params) and np.array_equal(x, before[1])


# --- bad input ---------------------------------------------------------------------------


@pytest.fixture
def linear_setup():
    layer = Linear(3, 2)
    return layer, layer.init(np.random.default_rng(0))


def test_linear_rejects_the_wrong_feature_count(linear_setup) -> None:
    layer, params = linear_setup
    with pytest.raises(ValueError, match="x must have 3 features"):
        layer(params, np.ones((4, 5)))


def test_linear_rejects_integer_input_and_names_it(linear_setup) -> None:
    layer, params = linear_setup
    with pytest.raises(TypeError, match="x must have a real floating dtype"):
        layer(params, np.ones((4, 3), dtype=np.int64))


def test_linear_rejects_mixed_dtypes(linear_setup) -> None:
    layer, params = linear_setup
    with pytest.raises(TypeError, match="x has dtype float32 but the parameters are float64"):
        layer(params, np.ones((4, 3), dtype=np.float32))


def test_non_finite_input_is_named(linear_setup) -> None:
    layer, params = linear_setup
    x = np.ones((4, 3))
    x[1, 2] = np.nan
    with pytest.raises(ValueError, match="x has 1 non-finite entry"):
        layer(params, x)


def test_non_finite_parameter_is_named(linear_setup) -> None:
    layer, params = linear_setup
    params = {**params, "bias": np.array([np.inf, 0.0])}
    with pytest.raises(ValueError, match=r"params\['bias'\] has 1 non-finite"):
        layer(params, np.ones((4, 3)))


def test_missing_and_misshapen_parameters_are_named(linear_setup) -> None:
    layer, params = linear_setup
    with pytest.raises(KeyError, match=r"missing \['bias'\]"):
        layer({"weight": params["weight"]}, np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"params\['weight'\] of Linear must have shape \(2, 3\)"):
        layer({**params, "weight": np.ones((3, 2))}, np.ones((4, 3)))


def test_conv_rejects_wrong_rank_channels_and_a_kernel_that_does_not_fit() -> None:
    conv = Conv2d(2, 3, 5)
    params = conv.init(np.random.default_rng(0))
    with pytest.raises(ValueError, match="4 dimensions"):
        conv(params, np.ones((2, 8, 8)))
    with pytest.raises(ValueError, match="2 channels"):
        conv(params, np.ones((1, 3, 8, 8)))
    with pytest.raises(ValueError, match="kernel 5 does not fit"):
        conv(params, np.ones((1, 2, 3, 3)))
    with pytest.raises(ValueError, match="stride must be >= 1"):
        Conv2d(1, 1, 3, stride=0)
    with pytest.raises(ValueError, match="padding must be >= 0"):
        Conv2d(1, 1, 3, padding=-1)


def test_cross_entropy_rejects_bad_labels() -> None:
    loss = SoftmaxCrossEntropy()
    z = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\)"):
        loss(z, np.array([0, 1, 4]))
    with pytest.raises(TypeError, match="labels must have an integer dtype"):
        loss(z, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"labels must have shape \(3,\)"):
        loss(z, np.array([0, 1]))


def test_mse_rejects_mismatched_targets() -> None:
    with pytest.raises(ValueError, match="targets must have the outputs' shape"):
        MeanSquaredError()(np.zeros((3, 2)), np.zeros((2, 3)))


def test_network_rejects_a_batch_that_is_not_a_pair() -> None:
    net = Network([Flatten(), Linear(4, 2)], SoftmaxCrossEntropy())
    with pytest.raises(TypeError, match="batch must be a pair"):
        net.loss_and_grad(net.init(0), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="activation must be one of"):
        mlp([3, 2, 1], activation="swish")


def test_backward_rejects_an_upstream_gradient_of_the_wrong_shape() -> None:
    conv = Conv2d(1, 2, 3, stride=2, padding=1)
    params = conv.init(np.random.default_rng(0))
    y, cache = conv.forward(params, np.ones((2, 1, 5, 5)))
    with pytest.raises(ValueError, match=r"dy passed to Conv2d.backward must have the output's shape \(2, 2, 3, 3\)"):
        conv.backward(params, cache, np.ones((2, 2, 5, 5)))
    layer = Linear(3, 2)
    p = layer.init(np.random.default_rng(0))
    _, cache = layer.forward(p, np.ones((4, 3)))
    with pytest.raises(ValueError, match="dy passed to Linear.backward"):
        layer.backward(p, cache, np.ones((4, 3)))


@pytest.mark.parametrize("name", NAMES)
def test_rounding_bound_covers_the_float32_error(name: str) -> None:
    """The derived rounding bound of each case's value holds: float32 value vs the same data in float64."""
    case = next(c for c in catalogue(dtype="float32", seed=4) if c.name == name)
    wide = {k: v.astype(np.float64) for k, v in case.point.items()}
    fixed = {k: (v.astype(np.float64) if v.dtype == np.float32 else v) for k, v in case.fixed.items()}
    params = {k: v for k, v in wide.items() if k != "input"}
    if case.kind == "layer":
        reference = np.sum(fixed["probe"] * case.module(params, wide["input"]))
    elif case.kind == "loss":
        reference = case.module(wide["input"], fixed["targets"])
    else:
        reference = case.module.loss(params, (wide["input"], fixed["targets"]))
    error = abs(float(case.value(case.point)) - float(reference))
    assert error <= case.rounding_bound(case.point), (error, case.rounding_bound(case.point))


def test_the_registry_holds_every_catalogue_case_and_builds_each_from_its_own_stream() -> None:
    from gc_theory.models.cases import case_names, gradient_cases

    assert case_names() == NAMES
    built = {c.name: c for c in gradient_cases(NUMPY, "float64", seed=4)}
    again = {c.name: c for c in gradient_cases(NUMPY, "float64", seed=4, kinds=["model"])}
    assert set(again) == {n for n in NAMES if n.startswith("model.")}
    for name, case in again.items():  # building a subset draws the same data
        np.testing.assert_array_equal(case.point["input"], built[name].point["input"])


def test_a_new_area_registers_a_case_without_editing_a_list(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc_theory.models.cases as cases

    monkeypatch.setattr(cases, "_FACTORIES", dict(cases._FACTORIES))

    @cases.register_case_factory("layer", "tanh_again")
    def _(xp, dtype, rng):
        return layer_case("tanh_again", Tanh(), (2, 3), xp, dtype, rng)

    assert "layer.tanh_again" in cases.case_names(["layer"])
    case = cases.gradient_cases(NUMPY, "float64", kinds=["layer"])[-1]
    assert case.name == "layer.tanh_again" and all(m.passed for m in check_case(case))
    with pytest.raises(ValueError, match="name must be unique"):
        cases.register_case_factory("layer", "tanh_again", _)
    with pytest.raises(TypeError, match="factory"):
        cases.register_case_factory("layer", "not_callable", 3)


def test_the_flat_view_round_trips_the_dict_case() -> None:
    from gc_theory.models.cases import flat_case

    case = next(c for c in CASES if c.name == "model.mlp_tanh")
    flat = flat_case(case, NUMPY)
    assert flat.size == sum(a.size for a in case.point.values())
    assert float(flat.f(flat.x)) == float(case.value(case.point))
    _, grads = case.value_and_grad(case.point)
    for key, (offset, shape) in flat.blocks.items():
        np.testing.assert_array_equal(flat.grad(flat.x)[offset : offset + int(np.prod(shape))].reshape(shape), grads[key])


def test_a_bug_is_registered_beside_its_case_and_joins_the_one_list(monkeypatch: pytest.MonkeyPatch) -> None:
    from gc_theory.models import cases

    monkeypatch.setattr(cases, "_BUG_FACTORIES", dict(cases._BUG_FACTORIES))

    class HalfTanh(Tanh):
        def backward(self, params, cache, dy):
            dx, grads = super().backward(params, cache, dy)
            return dx / 2, grads

    @cases.register_bug_factory("layer", "tanh", "halved")
    def _(xp, dtype, rng):
        return layer_case("tanh.halved", HalfTanh(), (4, 6), xp, dtype, rng)

    bug = next(b for b in cases.planted_bugs(NUMPY, kinds=["layer"]) if b.name == "layer.tanh.halved")
    assert bug.of == "layer.tanh" and bug.bug == "halved" and bug.entries is None and bug.keys == ["input"]
    assert max(m.ratio for m in check_case(bug.case)) > 10
    with pytest.raises(ValueError, match="bug must be unique"):
        cases.register_bug_factory("layer", "tanh", "halved", _)
    with pytest.raises(ValueError, match="name must name a registered layer case"):
        cases.register_bug_factory("layer", "no_such_layer", "halved", _)


def test_a_generic_bug_knows_the_entries_and_arrays_it_changes() -> None:
    from gc_theory.models.cases import flat_case, plant_case

    case = next(c for c in CASES if c.name == "layer.linear")
    bug = plant_case(case, "transposed")
    assert bug.keys == ["weight"] and bug.entries.size > 0
    right, wrong = flat_case(case, NUMPY), flat_case(bug.case, NUMPY)
    changed = np.flatnonzero(right.grad(right.x) != wrong.grad(wrong.x))
    assert changed.tolist() == bug.entries.tolist()
    assert plant_case(next(c for c in CASES if c.name == "layer.tanh"), "transposed") is None  # no transposable array


def test_the_flat_view_of_some_arrays_holds_the_others() -> None:
    from gc_theory.models.cases import flat_case

    case = next(c for c in CASES if c.name == "layer.linear")
    view = flat_case(case, NUMPY, keys=["bias"])
    assert view.size == 3 and list(view.blocks) == ["bias"]
    assert float(view.f(view.x)) == float(case.value(case.point))
    assert np.array_equal(view.grad(view.x), case.value_and_grad(case.point)[1]["bias"])
    with pytest.raises(ValueError, match="keys must name arrays"):
        flat_case(case, NUMPY, keys=["nothing"])


@given(st.integers(0, 2**16), st.integers(2, 9), st.floats(0.05, 20.0))
def test_batch_norm_rounding_stays_within_its_derived_bound(seed: int, n: int, spread: float) -> None:
    """float32 batch norm against the same inputs in float64: the error is within error_bound with the sigma floor."""
    from gc_theory.models import BatchNorm

    rng = np.random.default_rng(seed)
    layer = BatchNorm(3)
    x = (spread * rng.standard_normal((n, 3)) + rng.standard_normal(3)).astype(np.float32)
    params = {"weight": rng.standard_normal(3).astype(np.float32), "bias": rng.standard_normal(3).astype(np.float32)}
    y32 = layer(params, x)
    y64 = layer({k: v.astype(np.float64) for k, v in params.items()}, x.astype(np.float64))
    _, bound = layer.error_bound({k: np.abs(v) for k, v in params.items()}, np.abs(x), np.zeros_like(x),
                                 sigma_min=layer.sigma_floor(x))  # fmt: skip
    assert np.all(np.abs(y32 - y64) <= bound)
