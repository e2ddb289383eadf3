r"""A network: layers plus a loss, with ``loss_and_grad(params, batch)`` for the optimisers.

>>> import numpy as np
>>> from gc_theory.models import mlp
>>> net = mlp([64, 32, 10])
>>> params = net.init(0)                            # {"0.weight": (32, 64), "0.bias": ..., "2.weight": ...}
>>> x, y = np.zeros((5, 64)), np.arange(5)
>>> loss, grads = net.loss_and_grad(params, (x, y))
>>> sorted(grads) == sorted(params)
True

The optimisers take the same dicts: ``params, state = opt.step(params, grads, state)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np

from gc_theory.core.backend import array_namespace
from .conv import Conv2d
from .layers import Flatten, Layer, Linear, Params, ReLU, Sigmoid, Tanh, stack_layers
from .losses import Loss, SoftmaxCrossEntropy

__all__ = ["ACTIVATIONS", "Network", "mlp", "small_cnn"]

#: Activation layers by name, for the builders below.
ACTIVATIONS: dict[str, type[Layer]] = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}


def _unpack(batch: Any) -> tuple[Any, Any]:
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError(f"batch must be a pair (inputs, targets), got {type(batch).__name__}")
    return batch[0], batch[1]


class Network:
    """Layers followed by a loss.

    Parameters
    ----------
    body : Layer or sequence of Layer
        The layers (wrapped in a :class:`Sequential`, so keys read ``"0.weight"``).
    loss : Loss
        Applied to the last layer's output and the batch's targets.
    """

    def __init__(self, body: Layer | Sequence[Layer], loss: Loss) -> None:
        if not isinstance(loss, Loss):
            raise TypeError(f"loss must be a Loss, got {type(loss).__name__}")
        self.body = stack_layers(body)
        self.loss_fn = loss

    def __repr__(self) -> str:
        return f"Network({self.body!r}, {self.loss_fn!r})"

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return self.body.param_shapes()

    def init(self, seed: int | np.random.Generator = 0, xp: ModuleType | None = None, dtype: Any = "float64") -> dict[str, Any]:
        """Fresh parameters from a seed (or a Generator), in namespace `xp` and `dtype`."""
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        return self.body.init(rng, xp, dtype)

    def forward(self, params: Params, x: Any) -> Any:
        """The outputs (logits for classification) for inputs `x`."""
        return self.body.forward(params, x)[0]

    def loss(self, params: Params, batch: Any) -> Any:
        """The loss on `batch` = (inputs, targets), a 0-d array."""
        x, t = _unpack(batch)
        return self.loss_fn.forward(self.forward(params, x), t)[0]

    def loss_and_grads(self, params: Params, batch: Any) -> tuple[Any, dict[str, Any], Any]:
        """(loss, gradients by parameter key, gradient with respect to the inputs)."""
        x, t = _unpack(batch)
        out, caches = self.body.forward(params, x)
        value, loss_cache = self.loss_fn.forward(out, t)
        dx, grads = self.body.backward(params, caches, self.loss_fn.backward(loss_cache))
        return value, grads, dx

    def loss_and_grad(self, params: Params, batch: Any) -> tuple[Any, dict[str, Any]]:
        """(loss, gradients): a dict with the keys and shapes of `params`, by backpropagation.

        Raises
        ------
        KeyError, ValueError, TypeError
            If `params` lacks a key or has a wrong shape, dtype or a non-finite
            entry, or the batch does not fit the network (each message names
            the argument).
        """
        value, grads, _ = self.loss_and_grads(params, batch)
        return value, grads

    def accuracy(self, params: Params, batch: Any) -> float:
        """Fraction of samples whose largest output is the target class."""
        x, labels = _unpack(batch)
        xp = array_namespace(x)
        predicted = xp.argmax(self.forward(params, x), axis=1)
        return float(xp.mean(xp.astype(predicted == xp.astype(labels, predicted.dtype), x.dtype)))

    def rounding_bound(self, params: Params, batch: Any, *, slack: Any = None) -> float:
        """First-order bound on |fl(loss) - loss| from the layers' ``error_bound`` (see :mod:`.layers`).

        `slack` (a dict like `params`, plus ``"input"``) widens every magnitude
        by that much, so that the bound holds on a neighbourhood of the point.
        """
        xp = array_namespace(batch[0])
        slack = slack or {}
        x, t = _unpack(batch)
        absolute = {k: xp.abs(v) + (slack[k] if k in slack else 0.0) for k, v in params.items()}
        x_abs = xp.abs(x) + (slack["input"] if "input" in slack else 0.0)
        out_abs, err = self.body.error_bound(absolute, x_abs, xp.zeros_like(x_abs))
        return self.loss_fn.error_bound(out_abs, err, t, self.loss(params, batch))

    def kinks(self, params: Params, x: Any) -> Any:
        """One boolean array: which side of every kink (ReLU's 0) each hidden unit is on."""
        xp = array_namespace(x)
        _, caches = self.body.forward(params, x)
        sides = [xp.reshape(k, (-1,)) for k in self.body.kinks(caches)]
        return xp.concat(sides) if sides else xp.zeros((0,), dtype=xp.bool)


def mlp(sizes: Sequence[int], *, activation: str = "relu", loss: Loss | None = None) -> Network:
    """A fully connected network ``sizes[0] -> sizes[1] -> ... -> sizes[-1]`` (softmax cross-entropy by default).

    Parameter keys: ``"0.weight"`` (sizes[1], sizes[0]), ``"0.bias"``, ``"2.weight"``, ... (activations sit between).
    """
    if len(sizes) < 2:
        raise ValueError(f"sizes needs an input and an output size, got {list(sizes)}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    layers: list[Layer] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return Network(layers, SoftmaxCrossEntropy() if loss is None else loss)


def small_cnn(
    in_channels: int = 1,
    image_size: int = 8,
    channels: Sequence[int] = (8, 16),
    n_classes: int = 10,
    *,
    activation: str = "relu",
    loss: Loss | None = None,
) -> Network:
    """Conv 3x3 (padding 1) -> act -> conv 3x3 (stride 2, padding 1) -> act -> ... -> flatten -> linear.

    The first convolution keeps the image size; each later one halves it (stride 2).
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    layers: list[Layer] = []
    c, size = in_channels, image_size
    for i, out in enumerate(channels):
        stride = 1 if i == 0 else 2
        conv = Conv2d(c, out, 3, stride=stride, padding=1)
        size = conv.output_shape((1, c, size, size))[2]
        layers += [conv, ACTIVATIONS[activation]()]
        c = out
    layers += [Flatten(), Linear(c * size * size, n_classes)]
    return Network(layers, SoftmaxCrossEntropy() if loss is None else loss)
