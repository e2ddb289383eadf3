r"""How much one example's output depends on the other examples of its batch.

A layer is *batch independent* when its output for example i is a function of
example i alone. A Linear or Conv2d layer, and its Weight-Normalised form, are:
the normalisation acts on the weights, not on the batch. Batch norm is not:
its mean and variance are taken over the batch, so replacing the other
examples moves example i's output.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gc_theory.core.backend import array_namespace
from gc_theory.core.validation import check_finite_floating, check_int
from gc_theory.models.layers import Layer

__all__ = ["batch_coupling"]


def batch_coupling(layer: Layer, params: Any, x: Any, rng: np.random.Generator, *, index: int = 0) -> tuple[float, float]:
    r"""The change of example `index`'s output when every other example of the batch is redrawn.

    Parameters
    ----------
    layer : Layer
        Any layer of :mod:`gc_theory.models` (a :class:`~gc_theory.models.Sequential` too).
    params : mapping
        Its parameters.
    x : array
        A batch, examples on axis 0, at least 2 of them.
    rng : numpy.random.Generator
        Draws the replacement examples (standard normal, the shape of `x`).
    index : int, default 0
        The example whose output is compared.

    Returns
    -------
    change : float
        :math:`\max_k |y_{ik}(x) - y_{ik}(x')|`, x' equal to x in row `index`
        and redrawn elsewhere.
    scale : float
        :math:`\max_k |y_{ik}(x)|`, to read the change against.

    Raises
    ------
    ValueError
        A batch of fewer than 2 examples, or `index` outside it.

    Notes
    -----
    For a batch-independent layer both outputs of row i are the same
    arithmetic on the same numbers and agree to rounding (the layer's
    ``error_bound`` of each, twice); for batch norm the row moves by the change
    of the batch statistics, of the order of the output itself.

    Examples
    --------
    >>> import numpy as np
    >>> from gc_theory.models import Linear
    >>> layer = Linear(3, 2)
    >>> p = layer.init(np.random.default_rng(0))
    >>> change, scale = batch_coupling(layer, p, np.ones((4, 3)), np.random.default_rng(1))
    >>> change == 0.0 and scale > 0
    True
    """
    xp = check_finite_floating(x, "x")
    if x.ndim < 1 or x.shape[0] < 2:
        raise ValueError(f"x must be a batch of at least 2 examples on axis 0, got shape {tuple(x.shape)}")
    n = int(x.shape[0])
    i = check_int(index, "index", minimum=0)
    if i >= n:
        raise ValueError(f"index must be in [0, {n}), got {index}")
    others = xp.asarray(np.asarray(rng.standard_normal(tuple(x.shape))), dtype=x.dtype)
    keep = xp.reshape(xp.arange(n) == i, (n,) + (1,) * (x.ndim - 1))
    x_other = xp.where(keep, x, others)
    y, _ = layer.forward(params, x)
    y_other, _ = layer.forward(params, x_other)
    xp = array_namespace(y)
    change = float(xp.max(xp.abs(y[i, ...] - y_other[i, ...])))
    return change, float(xp.max(xp.abs(y[i, ...])))
