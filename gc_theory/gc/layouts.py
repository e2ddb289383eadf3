r"""Weight layouts: which axes make one weight vector, and the paper's column view of a weight.

Weights are stored output-axis first, as in PyTorch: a fully connected weight
is ``(out, in)``, a convolution weight ``(out, in, kh, kw)``. A *weight vector*
is everything one output unit reads, so by default the averaged axes are all
but the first. The GC and Weight Normalization papers write the same weight as
a matrix :math:`W \in \mathbb{R}^{M \times N}` whose columns are the output
units; :func:`as_columns` and :func:`from_columns` convert between the views.
Layouts with the output axis last (Keras, Flax) pass the axes explicitly, e.g.
``axis=(0, 1, 2)`` for a ``(kh, kw, in, out)`` kernel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from gc_theory.core.validation import normalize_axes
from gc_theory.core.backend import array_namespace

__all__ = ["Axis", "as_columns", "fan_in", "from_columns", "is_centralizable", "reduction_axes"]

Axis = int | Sequence[int] | None


def reduction_axes(shape: Sequence[int], axis: Axis = None) -> tuple[int, ...]:
    """The axes GC averages over: `axis` normalised, or by default all but the first.

    An array of fewer than two dimensions has no default axes (it is a bias or
    a norm scale, which GC leaves alone).
    """
    ndim = len(shape)
    if axis is None:
        return tuple(range(1, ndim)) if ndim >= 2 else ()
    return normalize_axes(axis, ndim)


def fan_in(shape: Sequence[int], axis: Axis = None) -> int:
    """M, the length of one weight vector: the product of the averaged axes' sizes."""
    return math.prod(shape[a] for a in reduction_axes(shape, axis))


def is_centralizable(shape: Sequence[int], axis: Axis = None) -> bool:
    """True when GC changes a gradient of this shape in a useful way.

    False for arrays with no averaged axes (0-d and 1-d by default) and for
    weight vectors of length 1, which GC would set to zero (P = 0 when M = 1).
    """
    axes = reduction_axes(shape, axis)
    return bool(axes) and fan_in(shape, axis) > 1


def _kept_axes(ndim: int, axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(a for a in range(ndim) if a not in axes)


def as_columns(w: Any, axis: Axis = None) -> Any:
    r"""The paper's matrix view: an (M, N) array whose columns are the weight vectors.

    For the default layout (output axis first) this is ``w.reshape(out, M).T``.
    """
    xp = array_namespace(w)
    axes = reduction_axes(w.shape, axis)
    if not axes:
        raise ValueError(f"as_columns needs an array with averaged axes, got shape {tuple(w.shape)}")
    kept = _kept_axes(w.ndim, axes)
    moved = xp.permute_dims(w, kept + axes)
    n_units = math.prod(w.shape[a] for a in kept)
    return xp.reshape(moved, (n_units, fan_in(w.shape, axis))).T


def from_columns(columns: Any, shape: Sequence[int], axis: Axis = None) -> Any:
    """Inverse of :func:`as_columns`: back from the (M, N) view to the stored `shape`."""
    xp = array_namespace(columns)
    shape = tuple(int(s) for s in shape)
    axes = reduction_axes(shape, axis)
    kept = _kept_axes(len(shape), axes)
    expected = (fan_in(shape, axis), math.prod(shape[a] for a in kept))
    if tuple(columns.shape) != expected:
        raise ValueError(f"columns must have shape {expected} for a weight of shape {shape}, got {tuple(columns.shape)}")
    moved = xp.reshape(columns.T, tuple(shape[a] for a in kept + axes))
    order = kept + axes
    inverse = tuple(order.index(a) for a in range(len(shape)))
    return xp.permute_dims(moved, inverse)
