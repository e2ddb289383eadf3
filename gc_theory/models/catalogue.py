r"""Every layer, loss and model of :mod:`gc_theory.models` as a small random instance to gradient-check.

:data:`ENTRIES` lists them and :data:`VARIANTS` their own wrong backward passes
(a flipped kernel, tanh' written as 1 - y, ...), each next to the case it
breaks; :mod:`gc_theory.models.cases` registers both, and its
:func:`~gc_theory.models.cases.gradient_cases` and :func:`~gc_theory.models.cases.planted_bugs`
are the lists to iterate over when a statement must hold for "every layer, loss
and model" or a checker must reject "every planted bug".

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
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from gc_theory.core.backend import array_namespace, get_namespace, resolve_dtype
from gc_theory.gc.centralization import centralize
from gc_theory.verify.tolerances import gamma
from gc_theory.gradcheck.case import GradCase, Layout, Point

from .conv import Conv2d
from .layers import Flatten, Layer, Linear, ReLU, Sequential, Sigmoid, Tanh
from .losses import Loss, MeanSquaredError, SigmoidCrossEntropy, SigmoidMeanSquaredError, SoftmaxCrossEntropy
from .network import Network, mlp, small_cnn
from .normalization import (
    BatchNorm,
    MeanOnlyBatchNorm,
    WeightNorm,
    planted_batch_norm,
    planted_mean_only_batch_norm,
    planted_weight_norm,
)

__all__ = ["ENTRIES", "KINK_MARGIN", "VARIANTS", "build_entry", "catalogue", "parameter_layout"]

#: Smallest |input| of a ReLU layer case, so that small steps never cross its kink.
KINK_MARGIN = 0.05

def parameter_layout(params: Point) -> dict[str, Layout]:
    """The layout of a layer's or network's parameters: output axis first (the package's convention)."""
    return {k: Layout(output_axis=0, transposable=v.ndim >= 2) for k, v in params.items()}


#: The layout of a case's ``"input"``: a batch of data, no output units.
DATA = Layout()


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
        # Batch norm divides by sigma, which magnitudes cannot bound from below: give it the floor near x.
        spread = {"sigma_min": layer.sigma_floor(point["input"], (slack or {}).get("input", 0.0))} if isinstance(layer, BatchNorm) else {}
        y_abs, err = layer.error_bound(p_abs, x_abs, xp.zeros_like(x_abs), **spread)
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


class CentralizedLinear(Linear):
    r"""A bias-free Linear layer that multiplies by :math:`\mathrm{centralize}(W)`: the GC operator inside a forward pass.

    Its weight gradient is :math:`P` applied to the plain one (P is symmetric):
    :math:`\nabla_W L(PW) = P\,\nabla_{W'} L`, Sec. 3.2 of the GC paper.
    """

    def forward(self, params: Any, x: Any) -> tuple[Any, Any]:
        return super().forward({**params, "weight": centralize(params["weight"])}, x)

    def backward(self, params: Any, cache: Any, dy: Any) -> tuple[Any, dict[str, Any]]:
        dx, grads = super().backward({**params, "weight": centralize(params["weight"])}, cache, dy)
        return dx, {**grads, "weight": centralize(grads["weight"])}

    def error_bound(self, params: Any, x_abs: Any, err: Any) -> tuple[Any, Any]:
        # W - mean(W) per row: |W'| <= |W| + mean|W|, and each entry is within gamma_{M+1} of that.
        xp = array_namespace(x_abs)
        wide = params["weight"] + xp.mean(params["weight"], axis=1, keepdims=True)
        y_abs, e = super().error_bound({**params, "weight": wide}, x_abs, err)
        return y_abs, e + gamma(self.in_features + 1, x_abs.dtype) * (x_abs @ wide.T)


# --- the catalogue: (kind, name, module constructor, input shape) ---------------------------

Entry = tuple[str, str, Callable[[], Any], tuple[int, ...]]

#: Every layer, loss and model, in catalogue order; :mod:`gc_theory.models.cases` registers each one.
ENTRIES: list[Entry] = [
    ("layer", "linear", lambda: Linear(5, 3), (4, 5)),
    ("layer", "linear_nobias", lambda: Linear(4, 3, bias=False), (3, 4)),
    ("layer", "conv2d", lambda: Conv2d(2, 3, 3), (2, 2, 5, 5)),
    ("layer", "conv2d_stride2_pad1", lambda: Conv2d(2, 3, (3, 2), stride=2, padding=1), (2, 2, 6, 5)),
    ("layer", "conv2d_1x1", lambda: Conv2d(3, 2, 1, bias=False), (2, 3, 3, 3)),
    ("layer", "flatten", Flatten, (3, 2, 2, 2)),
    ("layer", "relu", ReLU, (4, 6)),
    ("layer", "tanh", Tanh, (4, 6)),
    ("layer", "sigmoid", Sigmoid, (4, 6)),
    ("layer", "sequential", lambda: Sequential(Linear(4, 5), Tanh(), Linear(5, 2)), (3, 4)),
    ("layer", "gc_operator", lambda: Sequential(CentralizedLinear(5, 5, bias=False), Tanh()), (8, 5)),
    ("layer", "weightnorm_linear", lambda: WeightNorm(Linear(5, 3)), (4, 5)),
    ("layer", "weightnorm_conv2d", lambda: WeightNorm(Conv2d(2, 3, 3, padding=1)), (2, 2, 4, 4)),
    ("layer", "mean_only_batch_norm", lambda: MeanOnlyBatchNorm(3), (6, 3)),
    ("layer", "batch_norm", lambda: BatchNorm(3), (6, 3)),
    ("loss", "softmax_cross_entropy", SoftmaxCrossEntropy, (5, 4)),
    ("loss", "mean_squared_error", MeanSquaredError, (4, 3)),
    ("loss", "sigmoid_mean_squared_error", SigmoidMeanSquaredError, (4, 3)),
    ("loss", "sigmoid_cross_entropy", SigmoidCrossEntropy, (4, 3)),
    ("model", "linear_mse", lambda: Network([Linear(4, 4, bias=False)], MeanSquaredError()), (6, 4)),
    ("model", "tanh_cross_entropy", lambda: Network([Linear(4, 4, bias=False), Tanh()], SoftmaxCrossEntropy()), (6, 4)),
    ("model", "mlp_relu", lambda: mlp([6, 8, 4]), (5, 6)),
    ("model", "mlp_tanh", lambda: mlp([6, 8, 7, 4], activation="tanh"), (5, 6)),
    ("model", "mlp_sigmoid", lambda: mlp([6, 8, 4], activation="sigmoid"), (5, 6)),
    ("model", "cnn_relu", lambda: small_cnn(1, 6, (3, 4), 5), (3, 1, 6, 6)),
    ("model", "cnn_tanh_mse",
     lambda: Network([Conv2d(2, 3, 3, stride=2, padding=2), Tanh(), Flatten(), Linear(3 * 4 * 4, 2)], MeanSquaredError()), (2, 2, 5, 5)),
]

#: The case builder of each kind.
BUILDERS: dict[str, Callable[..., GradCase]] = {"layer": layer_case, "loss": loss_case, "model": model_case}


def build_entry(kind: str, name: str, make: Callable[[], Any], shape: tuple[int, ...], xp: ModuleType, dtype: Any,
                rng: np.random.Generator) -> GradCase:  # fmt: skip
    """The case ``"<kind>.<name>"`` of a fresh ``make()`` on an input of `shape`, drawn from `rng`."""
    return BUILDERS[kind](name, make(), shape, xp, dtype, rng)


def catalogue(xp: ModuleType | None = None, dtype: Any = "float64", seed: int = 0) -> list[GradCase]:
    r"""Every layer, loss and model of the toolkit as a small random :class:`GradCase` (see the module docstring).

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
        Sequential, a tanh layer on :math:`\mathrm{centralize}(W)` (the GC
        operator), WeightNorm of Linear and of Conv2d, mean-only batch norm,
        batch norm; losses: softmax cross-entropy, mean squared error, and a
        sigmoid output with squared error or binary cross-entropy; models:
        a linear least-squares fit, a tanh layer under cross-entropy, MLPs with
        each activation, the small CNN used on digits, and a strided
        convolutional regressor with a mean-squared-error loss. Cases other
        areas register live in :func:`gc_theory.models.cases.gradient_cases`.
    """
    xp, dt, rng = _context(xp, dtype, seed)
    return [build_entry(*entry, xp, dt, rng) for entry in ENTRIES]


# --- each case's own planted bugs: backward passes wrong in a way seen in practice ---------


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


#: Each case's own wrong backward passes: (the case they break, the bug's name, the wrong module, input shape).
#: They are built like that case (same kind) and registered beside it by :mod:`gc_theory.models.cases`.
VARIANTS: list[tuple[str, str, Callable[[], Any], tuple[int, ...]]] = [
    ("layer.conv2d", "flipped_kernel", lambda: _FlippedKernelConv(2, 3, 3, padding=1), (2, 2, 4, 4)),
    ("layer.conv2d_stride2_pad1", "shifted_col2im", lambda: _ShiftedCol2imConv(1, 2, 3, stride=2, padding=1), (2, 1, 5, 5)),
    ("model.mlp_tanh", "tanh_derivative", lambda: Network([Linear(5, 6), _TanhWrongDerivative(), Linear(6, 3)], SoftmaxCrossEntropy()), (4, 5)),
    ("layer.linear", "bias_mean", lambda: _MeanBiasLinear(5, 3), (4, 5)),
    ("loss.softmax_cross_entropy", "unscaled", _UnscaledCrossEntropy, (5, 4)),
    ("layer.weightnorm_linear", "unprojected_v", lambda: planted_weight_norm(Linear(5, 3)), (4, 5)),
    # The missing radial term is ~1/sqrt(M) of the v gradient (M = in*kh*kw): M = 4 here, not 18, so float32 sees it.
    ("layer.weightnorm_conv2d", "unprojected_v", lambda: planted_weight_norm(Conv2d(1, 3, 2, padding=1)), (2, 1, 4, 4)),
    ("layer.mean_only_batch_norm", "uncentred", lambda: planted_mean_only_batch_norm(3), (6, 3)),
    ("layer.batch_norm", "no_xhat_term", lambda: planted_batch_norm(3), (6, 3)),
]

