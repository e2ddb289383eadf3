r"""Layers with analytic backward passes: Linear, Flatten, ReLU, tanh, sigmoid, Sequential.

A layer is a small immutable object that holds only its sizes. Its parameters
live outside it, in a dict of arrays (the form the optimisers in
:mod:`gc_theory.optim` take), so that a training run is a pure function of its
inputs and can be replayed:

>>> import numpy as np
>>> from gc_theory.models import Linear
>>> layer = Linear(3, 2)
>>> params = layer.init(np.random.default_rng(0))
>>> y, cache = layer.forward(params, np.ones((4, 3)))
>>> dx, grads = layer.backward(params, cache, np.ones((4, 2)))
>>> sorted(grads), grads["weight"].shape
(['bias', 'weight'], (2, 3))

Every layer offers

* ``init(rng, xp=None, dtype="float64")``: a dict of parameters drawn from a
  seeded :class:`numpy.random.Generator` and moved to namespace `xp`;
* ``forward(params, x) -> (y, cache)`` and
  ``backward(params, cache, dy) -> (dx, grads)`` (``grads`` has the keys and
  shapes of ``params``): the chain rule written out by hand;
* ``error_bound(params, x_abs, err) -> (y_abs, err_out)``: a first-order
  bound on the rounding error of the forward pass, used to derive the tolerance
  of gradient checks (see Notes);
* ``kinks(cache)``: the sides of the points where the layer is not
  differentiable (ReLU's 0), so that a finite-difference check can tell that
  its stencil stayed on one smooth piece.

Notes
-----
Rounding-error propagation (Higham, Ch. 3): if the input carries an absolute
error bounded entrywise by ``err`` and has magnitude at most ``x_abs``, a
linear map :math:`y = Wx + b` with inner dimension K computes

.. math::

    |\hat y - y| \le |W|\,\mathrm{err} + \gamma_{K+1}\,(|W|\,x_{\mathrm{abs}} + |b|),

and a 1-Lipschitz activation passes ``err`` on, plus its own rounding
(a few units in the last place for library ``tanh`` and ``exp``).

References
----------
.. [1] N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM, 2002, Sec. 3.5.
.. [2] H. Yong et al., "Gradient Centralization", ECCV 2020 (weights stored output axis first).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from gc_theory.core.validation import check_positive_int
from gc_theory.core.backend import array_namespace, get_namespace, resolve_dtype
from gc_theory.verify.tolerances import gamma, unit_roundoff
from ._checks import check_cotangent, check_input, check_params

__all__ = ["Flatten", "Layer", "Linear", "ReLU", "Sequential", "Sigmoid", "Tanh"]

Params = Mapping[str, Any]

#: Largest error of library tanh and exp, in units of eps (glibc documents at most 2 ulp).
LIBM_ULPS = 2


class Layer:
    """Base class: a layer without parameters that maps x to itself."""

    #: Number of leading axes a single sample does not have (the batch axis).
    input_ndim: int | None = None

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes of this layer's parameters, by key (empty for activations)."""
        return {}

    def init(self, rng: np.random.Generator, xp: ModuleType | None = None, dtype: Any = "float64") -> dict[str, Any]:
        """Parameters drawn from `rng` (host) and moved to `xp` in `dtype`."""
        return {}

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of ``forward(params, x)[0]`` for an input of `input_shape`."""
        return tuple(input_shape)

    def forward(self, params: Params, x: Any) -> tuple[Any, Any]:
        raise NotImplementedError

    def backward(self, params: Params, cache: Any, dy: Any) -> tuple[Any, dict[str, Any]]:
        raise NotImplementedError

    def error_bound(self, params: Params, x_abs: Any, err: Any) -> tuple[Any, Any]:
        """(bound on |y|, bound on the rounding error of y) given the same for x."""
        raise NotImplementedError

    def kinks(self, cache: Any) -> list[Any]:
        """Boolean arrays telling on which side of each non-differentiable point the input lies."""
        return []

    def __call__(self, params: Params, x: Any) -> Any:
        return self.forward(params, x)[0]

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"

    def _check_params(self, params: Params) -> Any:
        return check_params(params, self.param_shapes(), type(self).__name__)


def _uniform(rng: np.random.Generator, shape: tuple[int, ...], bound: float, xp: ModuleType | None, dtype: Any) -> Any:
    xp = get_namespace() if xp is None else xp
    return xp.asarray(rng.uniform(-bound, bound, size=shape), dtype=resolve_dtype(xp, dtype))


class _Affine(Layer):
    r"""A layer with a weight stored output axis first and an optional bias of one entry per output unit.

    Subclasses give :meth:`weight_shape`; the parameter shapes, the fan-in and
    PyTorch's default initialisation (uniform on :math:`\pm 1/\sqrt{\text{fan-in}}`
    for weight and bias) follow from it.
    """

    bias: bool

    def weight_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def fan_in(self) -> int:
        """The length of one output unit's weight vector: every axis but the first."""
        return math.prod(self.weight_shape()[1:])

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        shape = self.weight_shape()
        return {"weight": shape, "bias": (shape[0],)} if self.bias else {"weight": shape}

    def init(self, rng: np.random.Generator, xp: ModuleType | None = None, dtype: Any = "float64") -> dict[str, Any]:
        bound = 1.0 / math.sqrt(self.fan_in)
        return {k: _uniform(rng, s, bound, xp, dtype) for k, s in self.param_shapes().items()}


class Linear(_Affine):
    r"""Fully connected layer :math:`y = x W^\top + b`, weight stored ``(out_features, in_features)``.

    Parameters
    ----------
    in_features, out_features : int
        Sizes of one input and one output sample.
    bias : bool
        Whether the layer has a bias (default True).

    Notes
    -----
    For a batch :math:`X \in \mathbb{R}^{n \times d}` and upstream gradient
    :math:`G = \partial L/\partial Y`:

    .. math::

        \frac{\partial L}{\partial W} = G^\top X, \qquad
        \frac{\partial L}{\partial b} = G^\top \mathbf{1}, \qquad
        \frac{\partial L}{\partial X} = G W.

    Initialisation is uniform on :math:`\pm 1/\sqrt{d}` for weight and bias,
    as in PyTorch's default.
    """

    input_ndim = 2

    def __init__(self, in_features: int, out_features: int, *, bias: bool = True) -> None:
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        self.bias = bool(bias)

    def weight_shape(self) -> tuple[int, ...]:
        return (self.out_features, self.in_features)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (input_shape[0], self.out_features)

    def _check_x(self, params: Params, x: Any) -> Any:
        dtype = self._check_params(params)
        xp = check_input(x, "x", 2, what="(batch, in_features)", dtype=dtype)
        if x.shape[1] != self.in_features:
            raise ValueError(f"x must have {self.in_features} features (axis 1), got shape {tuple(x.shape)}")
        return xp

    def forward(self, params: Params, x: Any) -> tuple[Any, Any]:
        self._check_x(params, x)
        y = x @ params["weight"].T
        if self.bias:
            y = y + params["bias"]
        return y, x

    def backward(self, params: Params, cache: Any, dy: Any) -> tuple[Any, dict[str, Any]]:
        xp = array_namespace(dy)
        x = cache
        check_cotangent(dy, (x.shape[0], self.out_features), "Linear")
        grads = {"weight": dy.T @ x}
        if self.bias:
            grads["bias"] = xp.sum(dy, axis=0)
        return dy @ params["weight"], grads

    def error_bound(self, params: Params, x_abs: Any, err: Any) -> tuple[Any, Any]:
        xp = array_namespace(x_abs)
        w_abs = xp.abs(params["weight"])
        y_abs = x_abs @ w_abs.T
        if self.bias:
            y_abs = y_abs + xp.abs(params["bias"])
        return y_abs, err @ w_abs.T + gamma(self.in_features + 1, x_abs.dtype) * y_abs


class Flatten(Layer):
    """Reshape ``(batch, *features)`` to ``(batch, prod(features))``; the backward pass reshapes back."""

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (input_shape[0], math.prod(input_shape[1:]))

    def forward(self, params: Params, x: Any) -> tuple[Any, Any]:
        self._check_params(params)
        xp = check_input(x, "x", None, what="(batch, ...)", min_ndim=2)
        return xp.reshape(x, self.output_shape(tuple(x.shape))), tuple(x.shape)

    def backward(self, params: Params, cache: Any, dy: Any) -> tuple[Any, dict[str, Any]]:
        return array_namespace(dy).reshape(dy, cache), {}

    def error_bound(self, params: Params, x_abs: Any, err: Any) -> tuple[Any, Any]:
        xp = array_namespace(x_abs)
        shape = self.output_shape(tuple(x_abs.shape))
        return xp.reshape(x_abs, shape), xp.reshape(err, shape)


class _Elementwise(Layer):
    """An activation applied entry by entry to an input of any shape with a batch axis."""

    def forward(self, params: Params, x: Any) -> tuple[Any, Any]:
        self._check_params(params)
        xp = check_input(x, "x", None, what="(batch, ...)")
        y = self._apply(xp, x)
        return y, (x, y)


class ReLU(_Elementwise):
    r""":math:`y = \max(x, 0)`; its derivative is taken as 0 at x = 0 (as in PyTorch)."""

    def _apply(self, xp: ModuleType, x: Any) -> Any:
        return xp.where(x > 0, x, xp.zeros_like(x))

    def backward(self, params: Params, cache: Any, dy: Any) -> tuple[Any, dict[str, Any]]:
        xp = array_namespace(dy)
        x, _ = cache
        return xp.where(x > 0, dy, xp.zeros_like(dy)), {}

    def error_bound(self, params: Params, x_abs: Any, err: Any) -> tuple[Any, Any]:
        return x_abs, err  # max(x, 0) is exact and 1-Lipschitz

    def kinks(self, cache: Any) -> list[Any]:
        return [cache[0] > 0]


class Tanh(_Elementwise):
    r""":math:`y = \tanh x`, :math:`\partial y/\partial x = 1 - y^2`."""

    def _apply(self, xp: ModuleType, x: Any) -> Any:
        return xp.tanh(x)

    def backward(self, params: Params, cache: Any, dy: Any) -> tuple[Any, dict[str, Any]]:
        _, y = cache
        return dy * (1.0 - y * y), {}

    def error_bound(self, params: Params, x_abs: Any, err: Any) -> tuple[Any, Any]:
        xp = array_namespace(x_abs)
        y_abs = xp.minimum(x_abs, xp.ones_like(x_abs))
        return y_abs, err + 2 * LIBM_ULPS * unit_roundoff(x_abs.dtype) * y_abs


class Sigmoid(_Elementwise):
    r""":math:`y = 1/(1 + e^{-x})`, :math:`\partial y/\partial x = y(1 - y)`.

    Computed from :math:`z = e^{-|x|} \le 1` as :math:`1/(1+z)` or :math:`z/(1+z)`,
    so no exponential overflows for large :math:`|x|`.
    """

    def _apply(self, xp: ModuleType, x: Any) -> Any:
        z = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))

    def backward(self, params: Params, cache: Any, dy: Any) -> tuple[Any, dict[str, Any]]:
        _, y = cache
        return dy * (y * (1.0 - y)), {}

    def error_bound(self, params: Params, x_abs: Any, err: Any) -> tuple[Any, Any]:
        # sigmoid is 1/4-Lipschitz; exp (LIBM_ULPS), the sum, the division and the rounding of |x|.
        xp = array_namespace(x_abs)
        y_abs = xp.ones_like(x_abs)
        return y_abs, 0.25 * err + (2 * LIBM_ULPS + 4) * unit_roundoff(x_abs.dtype) * y_abs


class Sequential(Layer):
    """Layers applied in order; parameter keys are ``"<index>.<name>"`` (``"0.weight"``), as in PyTorch.

    Parameters
    ----------
    *layers : Layer
        The layers, first applied first. A Sequential is itself a layer, so
        containers nest (keys then read ``"1.0.weight"``).
    """

    def __init__(self, *layers: Layer) -> None:
        if not layers:
            raise ValueError("Sequential needs at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {i} must be a Layer, got {type(layer).__name__}")
        self.layers = tuple(layers)

    def __repr__(self) -> str:
        return "Sequential(" + ", ".join(map(repr, self.layers)) + ")"

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {f"{i}.{k}": s for i, layer in enumerate(self.layers) for k, s in layer.param_shapes().items()}

    def init(self, rng: np.random.Generator, xp: ModuleType | None = None, dtype: Any = "float64") -> dict[str, Any]:
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.init(rng, xp, dtype).items()}

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        for layer in self.layers:
            input_shape = layer.output_shape(input_shape)
        return input_shape

    def split(self, params: Params) -> list[dict[str, Any]]:
        """The per-layer parameter dicts (keys without the index prefix), after checking `params`."""
        self._check_params(params)
        parts: list[dict[str, Any]] = [{} for _ in self.layers]
        for key, value in params.items():
            index, _, name = key.partition(".")
            parts[int(index)][name] = value
        return parts

    def forward(self, params: Params, x: Any) -> tuple[Any, Any]:
        caches = []
        for layer, p in zip(self.layers, self.split(params)):
            x, cache = layer.forward(p, x)
            caches.append(cache)
        return x, caches

    def backward(self, params: Params, cache: Any, dy: Any) -> tuple[Any, dict[str, Any]]:
        grads: dict[str, Any] = {}
        parts = self.split(params)
        for i in reversed(range(len(self.layers))):
            dy, g = self.layers[i].backward(parts[i], cache[i], dy)
            grads.update({f"{i}.{k}": v for k, v in g.items()})
        return dy, {k: grads[k] for k in params}  # the caller's key order

    def error_bound(self, params: Params, x_abs: Any, err: Any) -> tuple[Any, Any]:
        for layer, p in zip(self.layers, self.split(params)):
            x_abs, err = layer.error_bound(p, x_abs, err)
        return x_abs, err

    def kinks(self, cache: Any) -> list[Any]:
        return [k for layer, c in zip(self.layers, cache) for k in layer.kinks(c)]


def stack_layers(layers: Sequence[Layer] | Layer) -> Sequential:
    """A Sequential from a list of layers (a Sequential is returned as is)."""
    return layers if isinstance(layers, Sequential) else Sequential(*([layers] if isinstance(layers, Layer) else layers))
