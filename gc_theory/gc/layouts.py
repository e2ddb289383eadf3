r"""Weight layouts: which axes make one weight vector, and the paper's column view of a weight.

Weights are stored output-axis first, as in PyTorch: a fully connected weight
is ``(out, in)``, a convolution weight ``(out, in, kh, kw)``. A *weight vector*
is everything one output unit reads: every axis but the output axis. The GC and
Weight Normalization papers write the same weight as a matrix
:math:`W \in \mathbb{R}^{M \times N}` whose columns are the output units;
:func:`as_columns` and :func:`from_columns` convert between the views.

One convention for the whole toolkit: ``axis`` names the **output-unit axis**,
the one that is kept (torch's ``dim`` of ``weight_norm``); the other axes make
one weight vector. The default is 0, the stored layout. Keras and Flax keep the
output axis last: ``axis=-1`` for a ``(kh, kw, in, out)`` kernel.
``axis=None`` makes the whole tensor one weight vector. A tuple of axes is
refused: under the other convention it would name the averaged axes, and
reading it either way silently would average over the wrong ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numbers

from gc_theory.core.backend import array_namespace
from gc_theory.core.validation import normalize_axes

__all__ = ["Axis", "as_columns", "fan_in", "from_columns", "is_centralizable", "output_axis", "reduction_axes"]

#: The output-unit axis (kept), or None for the whole tensor as one weight vector.
Axis = int | None


def output_axis(axis: Axis, ndim: int) -> int | None:
    """`axis` checked and normalised to ``0 <= axis < ndim`` (None stays None).

    Raises
    ------
    TypeError
        If `axis` is a tuple or list (the averaged axes of the other
        convention: the message says what to pass), a bool, or not an integer.
    ValueError
        If `axis` is out of range for `ndim` dimensions.
    """
    if axis is None:
        return None
    if isinstance(axis, (tuple, list)):
        raise TypeError(
            f"axis is the output-unit axis that is kept (an int, or None for the whole tensor), got the sequence "
            f"{tuple(axis)!r}; the other axes are averaged: for a Keras/Flax (kh, kw, in, out) kernel pass axis=-1"
        )
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"axis must be an int (the output-unit axis) or None, got {type(axis).__name__} {axis!r}")
    if ndim == 0:
        raise ValueError(f"axis={axis} names an output axis, but the array is 0-d: pass axis=None")
    (a,) = normalize_axes(int(axis), ndim)
    return a


def reduction_axes(shape: Sequence[int], axis: Axis = 0) -> tuple[int, ...]:
    """The axes GC averages over: every axis but the output axis `axis` (all of them for None).

    A 1-d array with the default axis has no averaged axes: each entry is its
    own unit (a bias or a norm scale, which GC leaves alone), and a 0-d array
    has none either way.
    """
    ndim = len(shape)
    if ndim == 0:
        return ()
    kept = output_axis(axis, ndim)
    return tuple(a for a in range(ndim) if a != kept)


def fan_in(shape: Sequence[int], axis: Axis = 0) -> int:
    """M, the length of one weight vector: the product of the averaged axes' sizes."""
    return math.prod(shape[a] for a in reduction_axes(shape, axis))


def is_centralizable(shape: Sequence[int], axis: Axis = 0) -> bool:
    """True when GC changes a gradient of this shape in a useful way.

    False for arrays with no averaged axes (0-d, and 1-d with the default axis) and for
    weight vectors of length 1, which GC would set to zero (P = 0 when M = 1).
    """
    axes = reduction_axes(shape, axis)
    return bool(axes) and fan_in(shape, axis) > 1


def _kept_axes(ndim: int, axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(a for a in range(ndim) if a not in axes)


def as_columns(w: Any, axis: Axis = 0) -> Any:
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


def from_columns(columns: Any, shape: Sequence[int], axis: Axis = 0) -> Any:
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
