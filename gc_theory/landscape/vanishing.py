r"""Vanishing gradients: activation slopes, input gradients through depth, and saturated outputs.

The slope of the activation bounds how much of a gradient a layer passes back:

.. math::

    \sigma'(z) = \sigma(z)(1 - \sigma(z)) \le \tfrac14 \ (\text{equality only at } 0), \qquad
    \tanh'(z) = 1 - \tanh^2 z \le 1, \qquad \mathrm{ReLU}'(z) \in \{0, 1\}.

Through a chain :math:`h_k = \sigma(W_k h_{k-1} + b_k)`, k = 1..d, the input
gradient is :math:`\partial L/\partial x = W_1^\top D_1 \cdots W_d^\top D_d\,
\partial L/\partial h_d` with :math:`D_k = \operatorname{diag}\sigma'(\cdot)`, so

.. math::

    \Bigl\lVert \frac{\partial L}{\partial x}\Bigr\rVert \le
    \frac{\prod_k \lVert W_k\rVert_2}{4^d}\Bigl\lVert \frac{\partial L}{\partial h_d}\Bigr\rVert .

At the output, a sigmoid unit with squared error has
:math:`\partial L/\partial z = (\sigma(z) - y)\sigma'(z)`, which vanishes when the
unit saturates on the wrong answer; with cross-entropy it is
:math:`\sigma(z) - y`, which does not. :func:`output_gradient` writes both
closed forms; :func:`steps_to_leave_saturation` counts the gradient steps each
needs.

Everything here runs on any array-API namespace and uses the layers of
:mod:`gc_theory.models` as they are.

References
----------
.. [1] S. Hochreiter, "Untersuchungen zu dynamischen neuronalen Netzen",
   diploma thesis, TU Munich, 1991; Y. Bengio, P. Simard and P. Frasconi,
   "Learning long-term dependencies with gradient descent is difficult",
   IEEE Trans. Neural Netw. 5 (1994) 157-166.
.. [2] X. Glorot and Y. Bengio, "Understanding the difficulty of training deep
   feedforward neural networks", AISTATS 2010.
.. [3] K. He, X. Zhang, S. Ren and J. Sun, "Delving deep into rectifiers", ICCV 2015.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from gc_theory.core.validation import check_choice, check_finite_floating, check_int, check_positive, check_real
from gc_theory.models import Linear, ReLU, Sequential, Sigmoid, Tanh
from gc_theory.models.layers import Layer

__all__ = [
    "ACTIVATIONS",
    "ChainGradient",
    "activation_slope",
    "chain",
    "input_gradient",
    "output_gradient",
    "steps_to_leave_saturation",
]

ACTIVATIONS = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU}
INITS = ("default", "he", "small")


def activation_slope(name: str, z: Any) -> Any:
    """The derivative of activation `name` at `z`, from the layer's own backward pass."""
    check_choice(name, "name", ACTIVATIONS)
    xp = check_finite_floating(z, "z")
    layer = ACTIVATIONS[name]()
    _, cache = layer.forward({}, z)
    slope, _ = layer.backward({}, cache, xp.ones_like(z))
    return slope


def chain(activation: str, depth: int, width: int, rng: np.random.Generator, *, init: str = "default",
          xp: ModuleType | None = None, dtype: Any = "float64") -> tuple[Sequential, dict[str, Any]]:
    r"""A depth-d chain Linear -> activation, all layers `width` wide, and its parameters.

    `init`: ``"default"`` is PyTorch's uniform :math:`\pm 1/\sqrt{w}`;
    ``"he"`` is :math:`\mathcal N(0, 2/w)` weights and zero biases (He et al.,
    2015), which keeps ReLU gradients at constant size; ``"small"`` is
    :math:`\mathcal N(0, (0.1)^2/w)` with zero biases, where tanh stays in its
    linear regime.
    """
    check_choice(activation, "activation", ACTIVATIONS)
    depth = check_int(depth, "depth", minimum=1)
    width = check_int(width, "width", minimum=1)
    check_choice(init, "init", INITS)
    layers: list[Layer] = []
    for _ in range(depth):
        layers += [Linear(width, width), ACTIVATIONS[activation]()]
    net = Sequential(*layers)
    params = net.init(rng, xp, dtype)
    if init != "default":
        std = math.sqrt(2.0 / width) if init == "he" else 0.1 / math.sqrt(width)
        namespace = params["0.weight"].__array_namespace__()
        for key, value in params.items():
            host = std * rng.standard_normal(tuple(value.shape)) if key.endswith("weight") else np.zeros(tuple(value.shape))
            params[key] = namespace.asarray(host, dtype=value.dtype, device=getattr(value, "device", None))
    return net, params


class ChainGradient(NamedTuple):
    """The input gradient's norm, the upstream norm and the bound :math:`\\prod_k\\lVert W_k\\rVert_2 / 4^d` (floats)."""

    input_norm: float
    output_norm: float
    weight_norm_product: float


def input_gradient(net: Sequential, params: dict[str, Any], x: Any, upstream: Any) -> ChainGradient:
    r""":math:`\lVert \partial L/\partial x\rVert` for :math:`\partial L/\partial h_d` = `upstream`, by the layers' backward passes."""
    xp = check_finite_floating(x, "x")
    check_finite_floating(upstream, "upstream")
    _, cache = net.forward(params, x)
    dx, _ = net.backward(params, cache, upstream)
    product = 1.0
    for key, value in params.items():
        if key.endswith("weight"):
            product *= float(xp.linalg.matrix_norm(value, ord=2))
    return ChainGradient(float(xp.linalg.vector_norm(dx)), float(xp.linalg.vector_norm(upstream)), product)


OUTPUT_LOSSES = ("mse", "ce")


def output_gradient(loss: str, z: Any, targets: Any) -> Any:
    r"""The closed-form gradient of a sigmoid output's mean loss with respect to its pre-activations z.

    Parameters
    ----------
    loss : {"mse", "ce"}
        Squared error :math:`\frac1N\sum_j(\sigma(z_j) - t_j)^2` (no factor 1/2, as
        :class:`~gc_theory.models.losses.SigmoidMeanSquaredError`) or binary
        cross-entropy on logits (:class:`~gc_theory.models.losses.SigmoidCrossEntropy`).
    z, targets : array
        Pre-activations and targets of one shape (N entries in all).

    Returns
    -------
    array
        :math:`\partial L/\partial z`, in the namespace and dtype of `z`.

    Notes
    -----
    .. math::

        \text{mse:}\ \frac{2}{N}(\sigma(z) - t)\,\sigma(z)(1 - \sigma(z)), \qquad
        \text{ce:}\ \frac{1}{N}(\sigma(z) - t).

    :math:`\sigma` is evaluated from :math:`e^{-|z|} \le 1`, so nothing overflows.
    """
    check_choice(loss, "loss", OUTPUT_LOSSES)
    xp = check_finite_floating(z, "z")
    check_finite_floating(targets, "targets")
    if tuple(targets.shape) != tuple(z.shape):
        raise ValueError(f"targets must have the shape of z {tuple(z.shape)}, got {tuple(targets.shape)}")
    e = xp.exp(-xp.abs(z))
    s = xp.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    n = math.prod(z.shape)
    return (2.0 / n) * (s - targets) * (s * (1.0 - s)) if loss == "mse" else (s - targets) / n


def steps_to_leave_saturation(loss: str, z0: float, eta: float, *, max_steps: int = 1_000_000) -> int:
    r"""Gradient steps on the pre-activation z of a sigmoid unit with target 1 until :math:`\sigma(z) > 1/2`.

    ``loss="mse"``: :math:`z \leftarrow z + \eta\,(1 - \sigma)\sigma(1 - \sigma)`;
    ``loss="ce"``: :math:`z \leftarrow z + \eta\,(1 - \sigma)`. Returns
    `max_steps` + 1 when the unit has not left saturation by then.

    Notes
    -----
    Cross-entropy moves z by between :math:`\eta/2` and :math:`\eta` per step
    while :math:`z < 0`, so it leaves within :math:`\lceil |z_0|/(\eta/2)\rceil`
    steps. Squared error moves it by at most :math:`\eta e^{z}`; since that rate
    grows with z, each explicit step undershoots the flow
    :math:`d(e^{-z})/dk = -\eta`, and so it needs at least
    :math:`(e^{|z_0|} - 1)/\eta` steps.
    """
    check_choice(loss, "loss", ("mse", "ce"))
    z = check_real(z0, "z0")
    eta = check_positive(eta, "eta")
    max_steps = check_int(max_steps, "max_steps", minimum=1)
    for k in range(max_steps + 1):
        s = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
        if s > 0.5:
            return k
        z += eta * (1.0 - s) * (s * (1.0 - s) if loss == "mse" else 1.0)
    return max_steps + 1
