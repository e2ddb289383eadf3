r"""Every layer, loss and model of :mod:`gc_theory.models` as a small random instance to gradient-check.

:func:`catalogue` is the list to iterate over when a statement must hold for
"every model and layer in the toolkit"; a new layer is added here once and
every gradient check picks it up. :func:`planted_bugs` gives the same kind of
cases with a deliberately wrong backward pass: a gradient checker must reject
each one.

Each case is a :class:`GradCase`, a scalar function of a dict of arrays::

    for case in catalogue(xp, "float64", seed=0):
        value, grads = case.value_and_grad(case.point)   # analytic: same keys/shapes as case.point
        case.value(case.point)                           # the 0-d value alone
        case.kinks(case.point)                           # 1-d bool array; equal at two points
                                                         # => no ReLU kink was crossed between them
        case.rounding_bound(case.point)                  # bound on |fl(value) - value|

``case.point`` holds every differentiable argument: the parameters under their
usual keys (``"weight"``, ``"bias"``, or ``"0.weight"`` ... for a network) and
the input under ``"input"``. The non-differentiable data (class labels,
regression targets, the random cotangent of a layer case) are fixed inside the
case. A layer case's value is :math:`\langle c, f(x; \theta)\rangle` for a fixed
random cotangent c, so its gradient is exactly the layer's backward pass
applied to c. A loss case's value is the loss of its ``"input"`` (logits or
outputs); a model case's value is the network's loss on a small batch.

Inputs of ReLU layers are drawn at least :data:`KINK_MARGIN` away from 0; for
networks, compare ``case.kinks`` at the points a finite-difference stencil
visits to be sure it stayed on one smooth piece.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from ..backend import array_namespace, get_namespace, resolve_dtype
from ..tolerances import gamma
from .conv import Conv2d
from .layers import Flatten, Layer, Linear, ReLU, Sequential, Sigmoid, Tanh
from .losses import Loss, MeanSquaredError, SigmoidCrossEntropy, SigmoidMeanSquaredError, SoftmaxCrossEntropy
from .network import Network, mlp, small_cnn
from .normalization import MeanOnlyBatchNorm, WeightNorm, planted_mean_only_batch_norm

__all__ = ["KINK_MARGIN", "GradCase", "Layout", "catalogue", "planted_bugs"]

#: Smallest |input| of a ReLU layer case, so that small steps never cross its kink.
KINK_MARGIN = 0.05

Point = dict[str, Any]


@dataclass(frozen=True)
class Layout:
    """How one array of a case is laid out, for checkers and planted bugs that act per output unit.

    Attributes
    ----------
    output_axis : int or None
        The axis that indexes output units (0 for weights stored output-axis
        first, ``(out, in)`` or ``(out, in, kh, kw)``); None for arrays that
        are not parameters of a unit (inputs, logits).
    transposable : bool
        Whether a gradient of this array read back transposed, ``(out, rest) -> (rest, out)``,
        is a plausible bug (a weight matrix or kernel); false for biases and data.
    """

    output_axis: int | None = None
    transposable: bool = False


def parameter_layout(params: Point) -> dict[str, Layout]:
    """The layout of a layer's or network's parameters: output axis first (the package's convention)."""
    return {k: Layout(output_axis=0, transposable=v.ndim >= 2) for k, v in params.items()}


#: The layout of a case's ``"input"``: a batch of data, no output units.
DATA = Layout()


@dataclass(frozen=True)
class GradCase:
    """A scalar function of a dict of arrays, its analytic gradient, and what a checker needs.

    Attributes
    ----------
    name : str
        Unique, e.g. ``"layer.conv2d_stride2_pad1"`` or ``"model.cnn_relu"``.
    kind : str
        ``"layer"``, ``"loss"`` or ``"model"``.
    point : dict
        The arrays at which to check: parameters and ``"input"``.
    value : callable
        ``value(point) -> 0-d array``.
    value_and_grad : callable
        ``value_and_grad(point) -> (0-d array, dict)``, the dict with the keys and shapes of `point`.
    kinks : callable
        ``kinks(point) -> 1-d bool array`` (empty for smooth cases).
    rounding_bound : callable
        ``rounding_bound(point, slack=None) -> float``: first-order bound on
        the rounding error of ``value(point)``, from the layers'
        ``error_bound``; `slack` (a dict like `point`) widens magnitudes so
        the bound covers a neighbourhood.
    module : object
        The layer, loss or network under test.
    fixed : dict
        The non-differentiable data: ``{"probe": c}`` for a layer case (the
        value is ``sum(c * layer(x))``), ``{"targets": t}`` for a loss or model case.
    layout : dict of str to Layout
        Per key of `point`: its output axis and whether a transposed gradient is a plausible bug.
    """

    name: str
    kind: str
    point: Point
    value: Callable[[Point], Any] = field(repr=False)
    value_and_grad: Callable[[Point], tuple[Any, Point]] = field(repr=False)
    kinks: Callable[[Point], Any] = field(repr=False)
    rounding_bound: Callable[..., float] = field(repr=False)
    module: Any = None
    fixed: dict[str, Any] = field(default_factory=dict, repr=False)
    layout: Mapping[str, Layout] = field(default_factory=dict, repr=False)


def _split(point: Point) -> tuple[Point, Any]:
    return {k: v for k, v in point.items() if k != "input"}, point["input"]


def _widened(xp: ModuleType, point: Point, slack: Point | None) -> tuple[Point, Any]:
    slack = slack or {}
    wide = {k: xp.abs(v) + (slack[k] if k in slack else 0.0) for k, v in point.items()}
    return _split(wide)


def layer_case(name: str, layer: Layer, input_shape: tuple[int, ...], xp: ModuleType, dtype: Any, rng: np.random.Generator) -> GradCase:
    r"""A layer as the scalar :math:`\langle c, f(x;\theta)\rangle` with a fixed random cotangent c."""
    params = layer.init(rng, xp, dtype)
    x_host = rng.standard_normal(input_shape)
    if layer.kinks(layer.forward(params, xp.asarray(x_host, dtype=dtype))[1]):
        x_host = np.sign(x_host) * (KINK_MARGIN + np.abs(x_host))  # keep ReLU inputs off the kink
    x = xp.asarray(x_host, dtype=dtype)
    probe = xp.asarray(rng.standard_normal(layer.output_shape(input_shape)), dtype=dtype)

    def value(point: Point) -> Any:
        p, inp = _split(point)
        return xp.sum(probe * layer(p, inp))

    def value_and_grad(point: Point) -> tuple[Any, Point]:
        p, inp = _split(point)
        y, cache = layer.forward(p, inp)
        dx, grads = layer.backward(p, cache, probe)
        return xp.sum(probe * y), {**grads, "input": dx}

    def kinks(point: Point) -> Any:
        p, inp = _split(point)
        sides = [xp.reshape(k, (-1,)) for k in layer.kinks(layer.forward(p, inp)[1])]
        return xp.concat(sides) if sides else xp.zeros((0,), dtype=xp.bool)

    def rounding_bound(point: Point, slack: Point | None = None) -> float:
        p_abs, x_abs = _widened(xp, point, slack)
        y_abs, err = layer.error_bound(p_abs, x_abs, xp.zeros_like(x_abs))
        c = xp.abs(probe)
        return float(xp.sum(c * err)) + gamma(math.prod(y_abs.shape), y_abs.dtype) * float(xp.sum(c * y_abs))

    layout = {**parameter_layout(params), "input": DATA}
    return GradCase(f"layer.{name}", "layer", {**params, "input": x}, value, value_and_grad, kinks, rounding_bound, layer, {"probe": probe}, layout)


def loss_case(name: str, loss: Loss, shape: tuple[int, int], xp: ModuleType, dtype: Any, rng: np.random.Generator) -> GradCase:
    """A loss as a function of its first argument (logits or outputs); targets fixed."""
    z = xp.asarray(2.0 * rng.standard_normal(shape), dtype=dtype)
    if isinstance(loss, SoftmaxCrossEntropy):
        targets = xp.asarray(rng.integers(0, shape[1], size=shape[0]), dtype=xp.int64)
    else:
        targets = xp.asarray(rng.standard_normal(shape), dtype=dtype)

    def value(point: Point) -> Any:
        return loss(point["input"], targets)

    def value_and_grad(point: Point) -> tuple[Any, Point]:
        v, cache = loss.forward(point["input"], targets)
        return v, {"input": loss.backward(cache)}

    def kinks(point: Point) -> Any:
        return xp.zeros((0,), dtype=xp.bool)

    def rounding_bound(point: Point, slack: Point | None = None) -> float:
        _, z_abs = _widened(xp, point, slack)
        return loss.error_bound(z_abs, xp.zeros_like(z_abs), targets, value(point))

    return GradCase(f"loss.{name}", "loss", {"input": z}, value, value_and_grad, kinks, rounding_bound, loss, {"targets": targets}, {"input": DATA})


def model_case(name: str, net: Network, input_shape: tuple[int, ...], xp: ModuleType, dtype: Any, rng: np.random.Generator) -> GradCase:
    """A network's loss on a fixed small batch, as a function of its parameters and inputs."""
    params = net.init(rng, xp, dtype)
    x = xp.asarray(rng.standard_normal(input_shape), dtype=dtype)
    out_shape = net.body.output_shape(input_shape)
    if isinstance(net.loss_fn, SoftmaxCrossEntropy):
        targets = xp.asarray(rng.integers(0, out_shape[1], size=out_shape[0]), dtype=xp.int64)
    else:
        targets = xp.asarray(rng.standard_normal(out_shape), dtype=dtype)

    def value(point: Point) -> Any:
        p, inp = _split(point)
        return net.loss(p, (inp, targets))

    def value_and_grad(point: Point) -> tuple[Any, Point]:
        p, inp = _split(point)
        v, grads, dx = net.loss_and_grads(p, (inp, targets))
        return v, {**grads, "input": dx}

    def kinks(point: Point) -> Any:
        p, inp = _split(point)
        return net.kinks(p, inp)

    def rounding_bound(point: Point, slack: Point | None = None) -> float:
        p, inp = _split(point)
        return net.rounding_bound(p, (inp, targets), slack=slack)

    layout = {**parameter_layout(params), "input": DATA}
    return GradCase(f"model.{name}", "model", {**params, "input": x}, value, value_and_grad, kinks, rounding_bound, net, {"targets": targets}, layout)


def _context(xp: ModuleType | None, dtype: Any, seed: int) -> tuple[ModuleType, Any, np.random.Generator]:
    xp = get_namespace() if xp is None else xp
    return xp, resolve_dtype(xp, dtype), np.random.default_rng(seed)


# --- the catalogue: (case builder, name, module constructor, input shape) -------------------

Entry = tuple[Callable[..., GradCase], str, Callable[[], Any], tuple[int, ...]]

#: Every layer, loss and model, in catalogue order; :mod:`gc_theory.cases` registers each one.
ENTRIES: list[Entry] = [
    (layer_case, "linear", lambda: Linear(5, 3), (4, 5)),
    (layer_case, "linear_nobias", lambda: Linear(4, 3, bias=False), (3, 4)),
    (layer_case, "conv2d", lambda: Conv2d(2, 3, 3), (2, 2, 5, 5)),
    (layer_case, "conv2d_stride2_pad1", lambda: Conv2d(2, 3, (3, 2), stride=2, padding=1), (2, 2, 6, 5)),
    (layer_case, "conv2d_1x1", lambda: Conv2d(3, 2, 1, bias=False), (2, 3, 3, 3)),
    (layer_case, "flatten", Flatten, (3, 2, 2, 2)),
    (layer_case, "relu", ReLU, (4, 6)),
    (layer_case, "tanh", Tanh, (4, 6)),
    (layer_case, "sigmoid", Sigmoid, (4, 6)),
    (layer_case, "sequential", lambda: Sequential(Linear(4, 5), Tanh(), Linear(5, 2)), (3, 4)),
    (layer_case, "weightnorm_linear", lambda: WeightNorm(Linear(5, 3)), (4, 5)),
    (layer_case, "weightnorm_conv2d", lambda: WeightNorm(Conv2d(2, 3, 3, padding=1)), (2, 2, 4, 4)),
    (layer_case, "mean_only_batch_norm", lambda: MeanOnlyBatchNorm(3), (6, 3)),
    (loss_case, "softmax_cross_entropy", SoftmaxCrossEntropy, (5, 4)),
    (loss_case, "mean_squared_error", MeanSquaredError, (4, 3)),
    (loss_case, "sigmoid_mean_squared_error", SigmoidMeanSquaredError, (4, 3)),
    (loss_case, "sigmoid_cross_entropy", SigmoidCrossEntropy, (4, 3)),
    (model_case, "mlp_relu", lambda: mlp([6, 8, 4]), (5, 6)),
    (model_case, "mlp_tanh", lambda: mlp([6, 8, 7, 4], activation="tanh"), (5, 6)),
    (model_case, "mlp_sigmoid", lambda: mlp([6, 8, 4], activation="sigmoid"), (5, 6)),
    (model_case, "cnn_relu", lambda: small_cnn(1, 6, (3, 4), 5), (3, 1, 6, 6)),
    (model_case, "cnn_tanh_mse",
     lambda: Network([Conv2d(2, 3, 3, stride=2, padding=2), Tanh(), Flatten(), Linear(3 * 4 * 4, 2)], MeanSquaredError()), (2, 2, 5, 5)),
]


def catalogue(xp: ModuleType | None = None, dtype: Any = "float64", seed: int = 0) -> list[GradCase]:
    """Every layer, loss and model of the toolkit as a small random :class:`GradCase` (see the module docstring).

    Parameters
    ----------
    xp : namespace, optional
        Array namespace (NumPy by default).
    dtype : str or dtype
        ``"float64"`` (default) or ``"float32"``.
    seed : int
        Seed of the parameters, inputs, targets and cotangents.

    Returns
    -------
    list of GradCase
        Layers: Linear (with and without bias), Conv2d (plain; stride 2 with
        padding 1 and a non-square kernel; 1x1), Flatten, ReLU, Tanh, Sigmoid,
        Sequential, WeightNorm of Linear and of Conv2d, mean-only batch norm
        (BatchNorm is checked against torch in its own tests: it has no rounding
        bound yet); losses: softmax cross-entropy, mean squared error, and a
        sigmoid output with squared error or binary cross-entropy; models:
        MLPs with each activation, the small CNN used on digits, and a strided
        convolutional regressor with a mean-squared-error loss.
    """
    xp, dt, rng = _context(xp, dtype, seed)
    return [build(name, make(), shape, xp, dt, rng) for build, name, make, shape in ENTRIES]


# --- planted bugs: layers whose backward pass is wrong in a way seen in practice ---------


class _FlippedKernelConv(Conv2d):
    """Weight gradient of a convolution instead of a cross-correlation (kernel flipped)."""

    def backward(self, params: Any, cache: Any, dy: Any) -> tuple[Any, dict[str, Any]]:
        dx, grads = super().backward(params, cache, dy)
        xp = array_namespace(dy)
        return dx, {**grads, "weight": xp.flip(grads["weight"], axis=(2, 3))}


class _TanhWrongDerivative(Tanh):
    """Derivative written as 1 - y instead of 1 - y^2."""

    def backward(self, params: Any, cache: Any, dy: Any) -> tuple[Any, dict[str, Any]]:
        _, y = cache
        return dy * (1.0 - y), {}


class _MeanBiasLinear(Linear):
    """Bias gradient averaged over the batch although the loss already is."""

    def backward(self, params: Any, cache: Any, dy: Any) -> tuple[Any, dict[str, Any]]:
        dx, grads = super().backward(params, cache, dy)
        return dx, {**grads, "bias": grads["bias"] / dy.shape[0]}


class _UnscaledCrossEntropy(SoftmaxCrossEntropy):
    """Gradient p - onehot without the 1/n of the batch mean."""

    def backward(self, cache: Any) -> Any:
        probs, onehot, _ = cache
        return probs - onehot


class _ShiftedCol2imConv(Conv2d):
    """Input gradient scattered one row too high (an off-by-one in col2im's row offsets)."""

    def backward(self, params: Any, cache: Any, dy: Any) -> tuple[Any, dict[str, Any]]:
        dx, grads = super().backward(params, cache, dy)
        xp = array_namespace(dy)
        return xp.concat([dx[:, :, 1:, :], xp.zeros_like(dx[:, :, :1, :])], axis=2), grads


def planted_bugs(xp: ModuleType | None = None, dtype: Any = "float64", seed: int = 0) -> list[GradCase]:
    """Cases like :func:`catalogue`'s whose analytic gradient is wrong; a gradient check must reject each.

    The bugs: a convolution's weight gradient with the kernel flipped; tanh's
    derivative written as 1 - y; a bias gradient divided by the batch size
    twice; cross-entropy's gradient without the 1/n; a strided convolution's
    input gradient scattered one row too high; mean-only batch norm's input
    gradient without its batch centring. (Weight Normalization's v-gradient
    without M_w misses only the radial part, about 1/sqrt(M) of it, which a
    float32 directional check cannot separate from rounding by 10x: the wn.
    claims reject it directly, in float32 too.)
    """
    xp, dt, rng = _context(xp, dtype, seed)
    return [
        layer_case("bug_conv_flipped_kernel", _FlippedKernelConv(2, 3, 3, padding=1), (2, 2, 4, 4), xp, dt, rng),
        model_case(
            "bug_tanh_derivative", Network([Linear(5, 6), _TanhWrongDerivative(), Linear(6, 3)], SoftmaxCrossEntropy()), (4, 5), xp, dt, rng
        ),
        model_case("bug_bias_mean", Network([_MeanBiasLinear(5, 3)], SoftmaxCrossEntropy()), (4, 5), xp, dt, rng),
        loss_case("bug_cross_entropy_unscaled", _UnscaledCrossEntropy(), (5, 4), xp, dt, rng),
        layer_case("bug_conv_shifted_col2im", _ShiftedCol2imConv(1, 2, 3, stride=2, padding=1), (2, 1, 5, 5), xp, dt, rng),
        layer_case("bug_mean_only_batch_norm_uncentred", planted_mean_only_batch_norm(3), (6, 3), xp, dt, rng),
    ]
