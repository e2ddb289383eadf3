r"""Normalisation layers with analytic backward passes: WeightNorm, MeanOnlyBatchNorm, BatchNorm.

They follow the :class:`~gc_theory.models.layers.Layer` contract (sizes in the
layer, parameters in a dict, ``forward -> (y, cache)``, ``backward -> (dx,
grads)``) and call :mod:`gc_theory.weightnorm` for every formula, so the
mathematics exists once.

>>> import numpy as np
>>> from gc_theory.models import Linear, WeightNorm
>>> layer = WeightNorm(Linear(3, 2))
>>> params = layer.init(np.random.default_rng(0))
>>> sorted(params)
['bias', 'g', 'v']
>>> y, cache = layer.forward(params, np.ones((4, 3)))
>>> dx, grads = layer.backward(params, cache, np.ones((4, 2)))
>>> grads["g"].shape, grads["v"].shape
((2,), (2, 3))

Each layer has a planted wrong-backward variant, a small public factory that
gradient checks must reject: :func:`planted_weight_norm` (the v gradient
without :math:`M_w`), :func:`planted_mean_only_batch_norm` (the batch mean of
dy not subtracted) and :func:`planted_batch_norm` (the :math:`\hat x` term
dropped). Each is declared beside its layer's case in
:data:`gc_theory.models.catalogue.VARIANTS`, so :func:`gc_theory.models.cases.planted_bugs`
lists it with every other planted bug.

Batch statistics are those of the batch passed to ``forward`` (training mode).
For test time, :meth:`MeanOnlyBatchNorm.update_running_mean` keeps an
exponential running mean with the stated momentum and
:meth:`MeanOnlyBatchNorm.inference` uses it.

References
----------
.. [1] T. Salimans, D. P. Kingma, "Weight Normalization", NeurIPS 2016,
   arXiv:1602.07868, Sec. 2, 3 and 4.
.. [2] S. Ioffe, C. Szegedy, "Batch Normalization", ICML 2015, Alg. 1.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from gc_theory.core.validation import check_floating, check_positive_int, check_real, check_unit_interval
from gc_theory.core.backend import array_namespace, dtype_name, get_namespace, resolve_dtype
from gc_theory.verify.tolerances import gamma
from gc_theory.weightnorm import (
    batch_norm,
    batch_norm_backward,
    init_from_preactivations,
    mean_only_batch_norm,
    mean_only_batch_norm_backward,
    unit_norms,
    weight_norm,
    weight_norm_backward,
    weight_norm_scaled_backward,
)
from ._checks import check_cotangent, check_input, check_params
from .conv import Conv2d
from .layers import Layer, Linear, Params, Sequential

__all__ = [
    "BatchNorm",
    "MeanOnlyBatchNorm",
    "WeightNorm",
    "data_dependent_init_network",
    "planted_batch_norm",
    "planted_mean_only_batch_norm",
    "planted_weight_norm",
    "population_forward",
]


class _Cache(NamedTuple):
    """What :meth:`WeightNorm.backward` needs: the plain layer's cache, the unit norms, and t or w's parameters."""

    inner: Any
    norm: Any
    t: Any = None
    plain: Any = None


class WeightNorm(Layer):
    r"""A :class:`Linear` or :class:`Conv2d` whose weight is :math:`w = g\,v/\|v\|` per output unit.

    Parameters
    ----------
    layer : Linear or Conv2d
        The plain layer; its ``weight`` becomes the parameters ``v`` (same
        shape) and ``g`` (one per output unit), its ``bias`` stays.
    project_gradient : bool, default True
        False plants a bug: the v gradient without the projection :math:`M_w`
        (see :func:`planted_weight_norm`).

    Notes
    -----
    Two evaluation orders, the same function; each call takes the cheaper:

    * Where v has more entries than the output (fully connected layers, deep
      convolutions), w is never formed. Forward runs the plain layer with
      weight v and no bias, :math:`t = v\cdot x`, and scales each output unit
      (Sec. 2 of [1]_):

      .. math:: y = s\,t + b, \qquad s = g/\|v\|.

      Backward runs the plain layer's backward at weight v on :math:`s\,dy`,
      for the input gradient and :math:`s\,\nabla_w L`, which
      :func:`~gc_theory.weightnorm.weight_norm_scaled_backward` turns into
      :math:`\nabla_v L` in place, with :math:`\nabla_g L` from
      :math:`\partial L/\partial s = \sum dy\,t`. The extra work is a few
      passes over the output and nothing the size of v.
    * Otherwise (early convolutions, whose output is many times v) forward
      forms w and runs the plain layer, and backward maps the plain layer's
      :math:`\nabla_w L` in place with
      :func:`~gc_theory.weightnorm.weight_norm_backward`: a few passes over v
      and none over the output.

    ``init`` draws the plain layer's weight as v and sets :math:`g = \|v\|`, so
    w starts equal to the plain layer's weight; :meth:`data_dependent_init`
    then sets g and the bias from a batch (Sec. 3 of [1]_).

    Rounding, with K the fan-in: scaling the output, :math:`t` is an inner
    product of K terms, within :math:`\gamma_K\,|v||x|`; s carries
    :math:`\gamma_{K+5}` (the norm's :math:`\gamma_{K+4}`, one division); the
    product and the bias add one rounding each, so

    .. math:: |\hat y - y| \le \gamma_{2K+7}\,\bigl(|w||x| + |b|\bigr).

    Forming w (relative error :math:`\gamma_{K+6}`) and then the plain layer
    (:math:`\gamma_{K+1}`) gives :math:`\gamma_{K+6} + \gamma_{K+1} \le \gamma_{2K+7}`:
    :meth:`error_bound` charges :math:`\gamma_{2K+7}`, which covers both.
    """

    def __init__(self, layer: Linear | Conv2d, *, project_gradient: bool = True) -> None:
        if not isinstance(layer, (Linear, Conv2d)):
            raise TypeError(f"layer must be a Linear or Conv2d, got {type(layer).__name__}")
        self.layer = layer
        self.project_gradient = bool(project_gradient)
        self.input_ndim = layer.input_ndim

    @property
    def out_units(self) -> int:
        return self.layer.param_shapes()["weight"][0]

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes = self.layer.param_shapes()
        out = {"v": shapes["weight"], "g": (shapes["weight"][0],)}
        if "bias" in shapes:
            out["bias"] = shapes["bias"]
        return out

    def init(self, rng: np.random.Generator, xp: ModuleType | None = None, dtype: Any = "float64") -> dict[str, Any]:
        plain = self.layer.init(rng, xp, dtype)
        xp = array_namespace(plain["weight"])
        params = {"v": plain["weight"], "g": xp.reshape(unit_norms(plain["weight"], 0), (self.out_units,))}
        if "bias" in plain:
            params["bias"] = plain["bias"]
        return params

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return self.layer.output_shape(input_shape)

    def _check_params(self, params: Params) -> Any:
        """Keys, shapes, dtype of every parameter and the values of g and the bias; v's values are left to its norms.

        A NaN or Inf in v makes its unit norms non-finite, and
        :func:`~gc_theory.weightnorm.unit_norms` then raises naming v; a
        separate scan would cost as much as the norm itself.
        """
        shapes = self.param_shapes()
        if not isinstance(params, Mapping) or "v" not in params:
            return check_params(params, shapes, type(self).__name__)  # the usual error for a missing v
        v_shape = shapes.pop("v")
        dtype = check_params({k: p for k, p in params.items() if k != "v"}, shapes, type(self).__name__)
        v = params["v"]
        check_floating(v, "params['v']")
        if tuple(v.shape) != v_shape:
            raise ValueError(f"params['v'] of {type(self).__name__} must have shape {v_shape}, got {tuple(v.shape)}")
        if v.dtype != dtype:
            raise TypeError(f"params['v'] is {dtype_name(v.dtype)} but other parameters are {dtype_name(dtype)}")
        return dtype

    @property
    def _direction(self) -> Linear | Conv2d:
        """The plain layer without its bias: it computes t = v.x with v as its weight."""
        layer = copy.copy(self.layer)
        layer.bias = False
        return layer

    def _per_unit(self, xp: ModuleType, a: Any, ndim: int) -> Any:
        """A vector with one entry per output unit, shaped to broadcast against the output (units on axis 1)."""
        return xp.reshape(a, (1, self.out_units) + (1,) * (ndim - 2))

    def _scales_output(self, v: Any, x: Any) -> bool:
        """Whether v has more entries than the output for input `x` (a malformed `x` is left to the plain layer's checks)."""
        if getattr(x, "ndim", None) != self.input_ndim:
            return False
        return math.prod(v.shape) > math.prod(self.layer.output_shape(tuple(x.shape)))

    def forward(self, params: Params, x: Any) -> tuple[Any, Any]:
        self._check_params(params)
        v, g = params["v"], params["g"]
        xp = array_namespace(v)
        norm = unit_norms(v, 0)
        if self._scales_output(v, x):
            t, inner = self._direction.forward({"weight": v}, x)
            y = t * self._per_unit(xp, g / xp.reshape(norm, (self.out_units,)), t.ndim)
            if "bias" in params:
                y += self._per_unit(xp, params["bias"], y.ndim)
            return y, _Cache(inner, norm, t=t)
        weight = v / norm
        weight *= xp.reshape(g, norm.shape)  # in place, as in weight_norm: one array the size of v, not two
        plain = {"weight": weight, **({"bias": params["bias"]} if "bias" in params else {})}
        y, inner = self.layer.forward(plain, x)
        return y, _Cache(inner, norm, plain=plain)

    def backward(self, params: Params, cache: Any, dy: Any) -> tuple[Any, dict[str, Any]]:
        xp = array_namespace(dy)
        v, g = params["v"], params["g"]
        if cache.t is None:
            dx, plain = self.layer.backward(cache.plain, cache.inner, dy)
            grad_v, grad_g = weight_norm_backward(v, g, plain["weight"], 0, project=self.project_gradient,
                                                  norm=cache.norm, out=plain["weight"])
            return dx, {"v": grad_v, "g": grad_g, **({"bias": plain["bias"]} if "bias" in plain else {})}
        check_cotangent(dy, tuple(cache.t.shape), type(self).__name__)
        scale = self._per_unit(xp, g / xp.reshape(cache.norm, (self.out_units,)), dy.ndim)
        dx, plain = self._direction.backward({"weight": v}, cache.inner, dy * scale)
        grad_v, grad_g = weight_norm_scaled_backward(v, g, plain["weight"], self._grad_scale(xp, dy, cache.t), 0,
                                                     project=self.project_gradient, norm=cache.norm,
                                                     out=plain["weight"])
        grads = {"v": grad_v, "g": grad_g}
        if "bias" in params:
            grads["bias"] = xp.sum(dy, axis=(0,) + tuple(range(2, dy.ndim)))
        return dx, grads

    def _grad_scale(self, xp: ModuleType, dy: Any, t: Any) -> Any:
        r""":math:`\partial L/\partial s = \sum dy\,t` per output unit, over the batch and the positions."""
        if dy.ndim == 2:
            return xp.sum(dy * t, axis=0)
        # one dot product over the positions per sample and unit: no temporary the size of the output
        n = dy.shape[0]
        per_sample = xp.vecdot(xp.reshape(dy, (n, self.out_units, -1)), xp.reshape(t, (n, self.out_units, -1)))
        return xp.sum(per_sample, axis=0)

    def error_bound(self, params: Params, x_abs: Any, err: Any) -> tuple[Any, Any]:
        # The plain layer at w charges gamma_{K+1}; either evaluation order costs at most gamma_{2K+7} (Notes).
        self._check_params(params)
        plain = {"weight": weight_norm(params["v"], params["g"], 0)}
        if "bias" in params:
            plain["bias"] = params["bias"]
        y_abs, e = self.layer.error_bound(plain, x_abs, err)
        k = int(np.prod(self.param_shapes()["v"][1:]))
        return y_abs, e + (gamma(2 * k + 7, x_abs.dtype) - gamma(k + 1, x_abs.dtype)) * y_abs

    def kinks(self, cache: Any) -> list[Any]:
        return self.layer.kinks(cache[0])

    def data_dependent_init(self, params: Params, x: Any, *, init_scale: float = 1.0,
                            fallback: bool = False) -> dict[str, Any]:
        r"""New parameters whose pre-activations on batch `x` have mean 0 and std `init_scale` per unit.

        v is kept; g and the bias come from
        :func:`~gc_theory.weightnorm.init_from_preactivations` on
        :math:`t = v\cdot x/\|v\|` computed by this very layer with g = 1, b = 0.
        A layer without bias raises: b = -mu g has nowhere to go.
        """
        if "bias" not in self.param_shapes():
            raise ValueError("data-dependent initialisation needs a layer with a bias (it sets b = -mu[t] g)")
        self._check_params(params)
        xp = array_namespace(params["v"])
        unit = {"v": params["v"], "g": xp.ones_like(params["g"]), "bias": xp.zeros_like(params["bias"])}
        t, _ = self.forward(unit, x)
        g, b = init_from_preactivations(t, init_scale=init_scale, axis=1, fallback=fallback)
        return {"v": params["v"], "g": g, "bias": b}


def data_dependent_init_network(net: Sequential, params: Params, x: Any, *, init_scale: float = 1.0,
                                fallback: bool = False) -> dict[str, Any]:
    """Data-dependent init of every WeightNorm layer of `net`, in one pass from the input up.

    Each WeightNorm layer is initialised on the outputs of the layers below it
    *after* those were initialised (Sec. 3 of [1]_: one forward pass over one batch).
    """
    if not isinstance(net, Sequential):
        raise TypeError(f"net must be a Sequential, got {type(net).__name__}")
    parts = net.split(params)
    out: dict[str, Any] = {}
    for i, (layer, p) in enumerate(zip(net.layers, parts)):
        if isinstance(layer, WeightNorm):
            p = layer.data_dependent_init(p, x, init_scale=init_scale, fallback=fallback)
        x, _ = layer.forward(p, x)
        out.update({f"{i}.{k}": value for k, value in p.items()})
    return {k: out[k] for k in params}


def planted_weight_norm(layer: Linear | Conv2d) -> WeightNorm:
    """The planted bug: a WeightNorm whose v gradient skips the projection M_w (gradient checks must reject it)."""
    return WeightNorm(layer, project_gradient=False)


class MeanOnlyBatchNorm(Layer):
    r"""Subtract each feature's batch mean, then add a bias (Sec. 4 of [1]_).

    Parameters
    ----------
    num_features : int
        Size of axis 1 of the input ``(batch, features)`` or ``(batch, channels, h, w)``.
    momentum : float in [0, 1), default 0.1
        Weight of the newest batch mean in the running mean used at test time:
        :math:`\bar\mu \leftarrow (1 - m)\bar\mu + m\,\mu_{batch}` (torch's convention).

    Notes
    -----
    :math:`y = x - \mu_{batch} + b`; the backward is :math:`dx = dy - \overline{dy}`
    per feature, GC's projection over the examples
    (:func:`~gc_theory.weightnorm.mean_only_batch_norm_backward`).
    """

    def __init__(self, num_features: int, *, momentum: float = 0.1, _centre_gradient: bool = True) -> None:
        self.num_features = check_positive_int(num_features, "num_features")
        self.momentum = check_unit_interval(momentum, "momentum")
        self._centre_gradient = bool(_centre_gradient)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"bias": (self.num_features,)}

    def init(self, rng: np.random.Generator, xp: ModuleType | None = None, dtype: Any = "float64") -> dict[str, Any]:
        xp = get_namespace() if xp is None else xp
        return {"bias": xp.zeros((self.num_features,), dtype=resolve_dtype(xp, dtype))}

    def _bias(self, params: Params, x: Any) -> Any:
        dtype = self._check_params(params)
        xp = check_input(x, "x", None, what="(batch, features, ...)", dtype=dtype, min_ndim=2)
        if x.shape[1] != self.num_features:
            raise ValueError(f"x must have {self.num_features} features (axis 1), got shape {tuple(x.shape)}")
        return xp.reshape(params["bias"], (1, self.num_features) + (1,) * (x.ndim - 2))

    def forward(self, params: Params, x: Any) -> tuple[Any, Any]:
        bias = self._bias(params, x)
        centred, mu = mean_only_batch_norm(x)
        return centred + bias, (tuple(x.shape), mu)

    def backward(self, params: Params, cache: Any, dy: Any) -> tuple[Any, dict[str, Any]]:
        xp = array_namespace(dy)
        shape, _ = cache
        check_cotangent(dy, shape, type(self).__name__)
        axes = tuple(i for i in range(dy.ndim) if i != 1)
        dx = mean_only_batch_norm_backward(dy) if self._centre_gradient else dy
        return dx, {"bias": xp.sum(dy, axis=axes)}

    def update_running_mean(self, running_mean: Any, cache: Any) -> Any:
        """The running mean after the batch whose forward produced `cache`."""
        _, mu = cache
        return (1.0 - self.momentum) * running_mean + self.momentum * mu

    def inference(self, params: Params, x: Any, running_mean: Any) -> Any:
        """Test-time output: subtract the running mean instead of the batch mean."""
        bias = self._bias(params, x)
        return x - array_namespace(x).reshape(running_mean, tuple(bias.shape)) + bias

    def error_bound(self, params: Params, x_abs: Any, err: Any) -> tuple[Any, Any]:
        # x - mean(x): the mean carries gamma_n relative error, the two sums one rounding each.
        xp, n = array_namespace(x_abs), int(np.prod([x_abs.shape[i] for i in range(x_abs.ndim) if i != 1]))
        bias = xp.abs(xp.reshape(params["bias"], (1, self.num_features) + (1,) * (x_abs.ndim - 2)))
        y_abs = 2 * x_abs + bias
        return y_abs, 2 * err + gamma(n + 3, x_abs.dtype) * y_abs


def planted_mean_only_batch_norm(num_features: int) -> MeanOnlyBatchNorm:
    """The planted bug: a mean-only batch norm whose backward passes dy through uncentred."""
    return MeanOnlyBatchNorm(num_features, _centre_gradient=False)


class BatchNorm(Layer):
    r"""Batch normalisation with a scale and a shift per feature (training mode).

    Parameters
    ----------
    num_features : int
        Size of axis 1 of the input.
    eps : float, default 1e-5
        Added to the population variance (0 allowed: a constant feature then raises).
    momentum : float in [0, 1), default 0.1
        As in :class:`MeanOnlyBatchNorm`, for the running mean and variance.

    Notes
    -----
    :math:`y = \gamma\hat x + \beta` with :math:`\hat x = (x - \mu)/\sqrt{\sigma^2 + \epsilon}`
    (Ioffe and Szegedy [2]_, Alg. 1); the input gradient is
    :func:`~gc_theory.weightnorm.batch_norm_backward` of :math:`\gamma\,dy`.
    Parameters ``weight`` (:math:`\gamma`, initialised to 1) and ``bias`` (0), as in torch.
    """

    def __init__(self, num_features: int, *, eps: float = 1e-5, momentum: float = 0.1,
                 _full_backward: bool = True) -> None:
        self.num_features = check_positive_int(num_features, "num_features")
        self.eps = check_real(eps, "eps", low=0.0)
        self.momentum = check_unit_interval(momentum, "momentum")
        self._full_backward = bool(_full_backward)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"weight": (self.num_features,), "bias": (self.num_features,)}

    def init(self, rng: np.random.Generator, xp: ModuleType | None = None, dtype: Any = "float64") -> dict[str, Any]:
        xp = get_namespace() if xp is None else xp
        dt = resolve_dtype(xp, dtype)
        return {"weight": xp.ones((self.num_features,), dtype=dt), "bias": xp.zeros((self.num_features,), dtype=dt)}

    def _shape(self, ndim: int) -> tuple[int, ...]:
        return (1, self.num_features) + (1,) * (ndim - 2)

    def forward(self, params: Params, x: Any) -> tuple[Any, Any]:
        dtype = self._check_params(params)
        xp = check_input(x, "x", None, what="(batch, features, ...)", dtype=dtype, min_ndim=2)
        if x.shape[1] != self.num_features:
            raise ValueError(f"x must have {self.num_features} features (axis 1), got shape {tuple(x.shape)}")
        x_hat, mu, sigma = batch_norm(x, self.eps)
        shape = self._shape(x.ndim)
        return xp.reshape(params["weight"], shape) * x_hat + xp.reshape(params["bias"], shape), (x_hat, mu, sigma)

    def backward(self, params: Params, cache: Any, dy: Any) -> tuple[Any, dict[str, Any]]:
        xp = array_namespace(dy)
        x_hat, _, sigma = cache
        check_cotangent(dy, tuple(x_hat.shape), type(self).__name__)
        axes = tuple(i for i in range(dy.ndim) if i != 1)
        d_hat = xp.reshape(params["weight"], self._shape(dy.ndim)) * dy
        if self._full_backward:
            dx = batch_norm_backward(x_hat, sigma, d_hat)
        else:
            dx = mean_only_batch_norm_backward(d_hat) / xp.reshape(sigma, self._shape(dy.ndim))
        return dx, {"weight": xp.sum(dy * x_hat, axis=axes), "bias": xp.sum(dy, axis=axes)}

    def sigma_floor(self, x: Any, slack: Any = 0.0) -> Any:
        r"""A lower bound on :math:`\sigma` per feature for every input within `slack` (entrywise) of `x`.

        Centring is an orthogonal projection, so the population standard
        deviation moves by at most the RMS of the perturbation:
        :math:`\sqrt{\mathrm{var}(x + \delta)} \ge \sqrt{\mathrm{var}(x)} - \max|\delta|`.
        """
        xp = array_namespace(x)
        _, _, sigma = batch_norm(x, self.eps)
        spread = xp.sqrt(xp.clip(sigma * sigma - self.eps, 0.0, None))
        reach = float(xp.max(xp.abs(slack))) if hasattr(slack, "shape") else abs(float(slack))
        low = xp.clip(spread - reach, 0.0, None)
        return xp.sqrt(low * low + self.eps)

    def error_bound(self, params: Params, x_abs: Any, err: Any, *, sigma_min: Any = None) -> tuple[Any, Any]:
        r"""(bound on :math:`|y|`, bound on the rounding error of y), first order, given the same for x.

        Parameters
        ----------
        params : dict
            Magnitudes :math:`|\gamma|`, :math:`|\beta|`.
        x_abs, err : array
            Bounds on :math:`|x|` and on the error x already carries.
        sigma_min : array (features,), optional
            A lower bound on :math:`\sigma` (:meth:`sigma_floor`); default
            :math:`\sqrt\epsilon`, the only floor magnitudes alone give.

        Notes
        -----
        Per feature, n entries in the batch, :math:`X = |x|`, :math:`D = X + \bar X \ge |x - \mu|`:

        .. math::

            e_d &\le e + \bar e + \gamma_{n+1} D, \qquad
            e_v \le \gamma_{n+2}\,\overline{D^2} + 2\,\overline{D e_d}, \\
            e_\sigma &\le \frac{e_v + u(\overline{D^2} + \epsilon)}{2\sigma_{min}} + u\sqrt{\overline{D^2} + \epsilon}, \qquad
            e_{\hat x} \le \frac{e_d}{\sigma_{min}} + \frac{D}{\sigma_{min}}\Bigl(\frac{e_\sigma}{\sigma_{min}} + u\Bigr),

        (the mean, the subtraction, the variance as a mean of squares, the
        square root and the division), and :math:`y = \gamma\hat x + \beta`
        adds :math:`\gamma_2|y|` with :math:`|y| \le |\gamma| D/\sigma_{min} + |\beta|`.
        The bound is only as good as :math:`\sigma_{min}`: batch norm amplifies
        the rounding of x by :math:`1/\sigma`.
        """
        xp = array_namespace(x_abs)
        dt = x_abs.dtype
        axes = tuple(i for i in range(x_abs.ndim) if i != 1)
        n = int(np.prod([x_abs.shape[i] for i in axes]))
        u = gamma(1, dt)
        shape = self._shape(x_abs.ndim)
        floor = (math.sqrt(self.eps) if sigma_min is None else xp.reshape(sigma_min, shape))
        D = x_abs + xp.mean(x_abs, axis=axes, keepdims=True)
        e_d = err + xp.mean(err, axis=axes, keepdims=True) + gamma(n + 1, dt) * D
        d2 = xp.mean(D * D, axis=axes, keepdims=True)
        e_v = gamma(n + 2, dt) * d2 + 2 * xp.mean(D * e_d, axis=axes, keepdims=True)
        e_sigma = (e_v + u * (d2 + self.eps)) / (2 * floor) + u * xp.sqrt(d2 + self.eps)
        e_hat = e_d / floor + (D / floor) * (e_sigma / floor + u)
        scale, shift = xp.reshape(params["weight"], shape), xp.reshape(params["bias"], shape)
        y_abs = scale * D / floor + shift
        return y_abs, scale * e_hat + gamma(2, dt) * y_abs

    def update_running(self, running: tuple[Any, Any], cache: Any, batch_size: int) -> tuple[Any, Any]:
        """(running mean, running variance) after one batch; the variance is unbiased, as in torch."""
        mean, var = running
        _, mu, sigma = cache
        n = check_positive_int(batch_size, "batch_size", minimum=2)
        batch_var = (sigma * sigma - self.eps) * (n / (n - 1))
        m = self.momentum
        return (1.0 - m) * mean + m * mu, (1.0 - m) * var + m * batch_var

    def inference(self, params: Params, x: Any, running: tuple[Any, Any]) -> Any:
        """Test-time output from the running statistics."""
        xp = array_namespace(x)
        mean, var = running
        shape = self._shape(x.ndim)
        x_hat = (x - xp.reshape(mean, shape)) / xp.sqrt(xp.reshape(var, shape) + self.eps)
        return xp.reshape(params["weight"], shape) * x_hat + xp.reshape(params["bias"], shape)


def population_forward(net: Sequential, params: Params, x: Any, reference: Any) -> Any:
    r"""The test-time outputs of `net` for `x`: every batch norm uses the statistics of `reference`, not of `x`.

    Parameters
    ----------
    net : Sequential
        Layers, some of them :class:`MeanOnlyBatchNorm` or :class:`BatchNorm`.
    params : dict
        Parameters of `net`.
    x : array
        The inputs to predict (a test set, or a single example).
    reference : array
        The population the statistics come from, typically the whole training
        set; it runs through the same layers alongside `x`.

    Returns
    -------
    array
        What ``net.forward(params, x)`` returns, with each normalisation layer
        in its inference form (:meth:`MeanOnlyBatchNorm.inference`,
        :meth:`BatchNorm.inference`).

    Notes
    -----
    The statistics are exact population statistics of the reference set
    (one pass, no exponential running average), so the test-time network is a
    deterministic function of the parameters. For a reference equal to `x` the
    result is the training-mode output. A network without batch statistics
    gives ``net.forward(params, x)``.
    """
    if not isinstance(net, Sequential):
        raise TypeError(f"net must be a Sequential, got {type(net).__name__}")
    for layer, p in zip(net.layers, net.split(params), strict=True):
        out, cache = layer.forward(p, reference)
        if isinstance(layer, MeanOnlyBatchNorm):
            x = layer.inference(p, x, cache[1])
        elif isinstance(layer, BatchNorm):
            _, mu, sigma = cache
            x = layer.inference(p, x, (mu, sigma * sigma - layer.eps))
        else:
            x, _ = layer.forward(p, x)
        reference = out
    return x


def planted_batch_norm(num_features: int, *, eps: float = 1e-5) -> BatchNorm:
    r"""The planted bug: batch norm whose backward drops the :math:`\hat x\,\overline{\hat x\,dy}` term."""
    return BatchNorm(num_features, eps=eps, _full_backward=False)

