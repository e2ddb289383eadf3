r"""Gradient Centralization: the operator, its matrix P and the two weight views.

GC replaces the gradient of each weight vector by that gradient minus its mean
[1]_. Written with the unit vector :math:`e = \mathbf{1}/\sqrt{M}`, the operator
on one weight vector :math:`w \in \mathbb{R}^M` is the orthogonal projection

.. math::

    \Phi_{GC}(\nabla_w L) = P \nabla_w L, \qquad P = I - e e^\top,

onto the hyperplane :math:`e^\top x = 0`.

Two views of the same weight
----------------------------
Weights are stored output-axis first, as in PyTorch: a fully connected weight
is ``(out, in)``, a convolution weight ``(out, in, kh, kw)``. The paper writes
the same weight as a matrix :math:`W \in \mathbb{R}^{M \times N}` whose
*columns* :math:`w_i` are the output units, with :math:`M = in \cdot kh \cdot kw`
and :math:`N = out`. :func:`as_columns` and :func:`from_columns` convert between
the two, so that ``centralize(G) == from_columns(P @ as_columns(G), G.shape)``
(the claim ``gc.centralize.matches_P``). Layouts that keep the output axis
last (Keras, Flax) pass the averaged axes explicitly, e.g. ``axis=(0, 1, 2)``
for a ``(kh, kw, in, out)`` kernel.

References
----------
.. [1] H. Yong, J. Huang, X. Hua, L. Zhang, "Gradient Centralization: A New
   Optimization Technique for Deep Neural Networks", ECCV 2020, Sec. 3.1-3.2,
   Eqs. (4)-(5). arXiv:2004.01461.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np
from scipy.linalg.blas import get_blas_funcs
from ._validation import check_floating, check_positive_int, normalize_axes
from .backend import array_namespace, dtype_name, get_namespace, resolve_dtype

__all__ = [
    "as_columns",
    "centralize",
    "fan_in",
    "from_columns",
    "is_centralizable",
    "projection_matrix",
    "reduction_axes",
    "unit_vector",
]

Axis = int | Sequence[int] | None

#: Bytes of one row block in the NumPy fast path. A block is read from memory
#: once for its mean and once more, from cache, for the subtraction, so it must
#: fit in a core's L2 cache with room to spare (benchmarks/RESULTS.md).
BLOCK_BYTES = 1 << 19


def unit_vector(M: int, *, xp: ModuleType | None = None, dtype: Any = "float64") -> Any:
    r"""The unit vector :math:`e = \mathbf{1}/\sqrt{M}` of :math:`\mathbb{R}^M`."""
    M = check_positive_int(M, "M")
    xp = get_namespace() if xp is None else xp
    return xp.full((M,), 1.0 / math.sqrt(M), dtype=resolve_dtype(xp, dtype))


def projection_matrix(M: int, *, xp: ModuleType | None = None, dtype: Any = "float64") -> Any:
    r"""The GC projection :math:`P = I - e e^\top` of size M x M.

    Built entry by entry as :math:`\delta_{ij} - 1/M`, which rounds each entry
    once, rather than from the outer product of a rounded :math:`e`.

    Notes
    -----
    For ``M = 1`` the matrix is ``[[0]]``: a weight vector with one entry is
    zeroed by GC and would never train. :func:`is_centralizable` tells such
    shapes apart so that optimisers can skip them.
    """
    M = check_positive_int(M, "M")
    xp = get_namespace() if xp is None else xp
    dt = resolve_dtype(xp, dtype)
    return xp.eye(M, dtype=dt) - xp.full((M, M), 1.0 / M, dtype=dt)


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


def centralize(g: Any, axis: Axis = None, *, out: Any = None) -> Any:
    r"""Subtract from each weight vector's gradient its mean: :math:`P g` per output unit.

    Parameters
    ----------
    g : array
        Gradient of a weight, of any array-API backend, float32 or float64.
        Stored output-axis first: ``(out, in)`` or ``(out, in, kh, kw)``.
    axis : int or tuple of int, optional
        The axes averaged over, i.e. the axes of one weight vector. Default:
        all axes but the first. With the default, 0-d and 1-d arrays (biases,
        norm scales) are returned unchanged, as in the reference GC code; an
        explicit `axis` is always honoured.
    out : array, optional
        Where to write the result (same shape, dtype and backend as `g`);
        ``out=g`` centralises in place. Without it, `g` is never modified.

    Returns
    -------
    array
        A new array (or `out`) of the namespace and dtype of `g`.

    Raises
    ------
    TypeError
        If `g` is not a real floating array (integer, bool, complex dtypes).
    ValueError
        If `axis` is out of range or repeated, or `out` does not match `g`.

    Notes
    -----
    For a weight vector :math:`w \in \mathbb{R}^M`,

    .. math::

        \Phi_{GC}(g) = g - \frac{1}{M}\sum_{j=1}^{M} g_j \,\mathbf{1}
                     = (I - e e^\top) g .

    NaN and Inf propagate (a NaN in a weight vector's gradient makes the whole
    vector NaN); the claims and ``gc-theory verify`` report them. When the
    averaged axes have total size 1 the result is zero: see
    :func:`is_centralizable`.

    On NumPy, for C-contiguous arrays averaged over trailing axes, the work is
    done in row blocks that stay in cache between the mean and the
    subtraction, so the tensor is streamed from memory once, like a copy.
    """
    xp = check_floating(g, "g")
    axes = reduction_axes(g.shape, axis)
    if out is not None:
        _check_out(out, g)
    if not axes:
        if out is None:
            return xp.asarray(g, copy=True)
        out[...] = g
        return out
    if _fast_path_applies(g, axes, out):
        return _centralize_blocked(g, fan_in(g.shape, axis), out)
    result = g - xp.mean(g, axis=axes, keepdims=True)
    if out is None:
        return result
    out[...] = result
    return out


def _fast_path_applies(g: Any, axes: tuple[int, ...], out: Any) -> bool:
    """NumPy, C-contiguous, averaged over the trailing axes: a free (units, M) view."""
    trailing = axes == tuple(range(g.ndim - len(axes), g.ndim))
    return (
        isinstance(g, np.ndarray)
        and trailing
        and g.flags.c_contiguous
        and (out is None or out.flags.c_contiguous)
    )


def _check_out(out: Any, g: Any) -> None:
    if type(out) is not type(g):
        raise TypeError(f"out must be an array of the same backend as g ({type(g).__name__}), got {type(out).__name__}")
    if tuple(out.shape) != tuple(g.shape) or out.dtype != g.dtype:
        raise ValueError(
            f"out must match g: shape {tuple(g.shape)} and dtype {dtype_name(g.dtype)}, "
            f"got shape {tuple(out.shape)} and dtype {dtype_name(out.dtype)}"
        )


def _centralize_blocked(g: np.ndarray, M: int, out: np.ndarray | None) -> np.ndarray:
    """NumPy fast path: `g` viewed as (units, M), one cache-sized block of rows at a time.

    Per block, while it is in cache: row sums (einsum), a copy into `out`, and
    the rank-1 update ``out -= (sums/M) 1^T`` by BLAS ``?ger``. Each entry is
    rounded once, as in ``g - mean``. In cache this pair runs about twice as
    fast as NumPy's broadcast ``block - means`` (benchmarks/RESULTS.md).

    OpenBLAS would run each block's rank-1 update on all its threads; with the
    cores shared with other work their hand-offs stall (a single call up to
    100x slower than a copy), so BLAS is held to one thread for the loop, as
    the rest of this path is single-threaded anyway.
    """
    if out is None:
        out = np.empty_like(g)
    if g.size == 0:
        return out
    g2 = g.reshape(-1, M)
    out2 = out.reshape(-1, M)  # a view, since out is C-contiguous
    ger = get_blas_funcs("ger", (g2,))
    ones = np.ones(M, dtype=g.dtype)
    rows = max(1, BLOCK_BYTES // (M * g.itemsize))
    sums = np.empty(min(rows, g2.shape[0]), dtype=g.dtype)
    copy = out is not g
    with _one_blas_thread():
        for start in range(0, g2.shape[0], rows):
            block, target = g2[start : start + rows], out2[start : start + rows]
            s = sums[: block.shape[0]]
            np.einsum("ij->i", block, out=s)
            if copy:
                np.copyto(target, block)
            # target is C-contiguous, so target.T is the Fortran-ordered matrix BLAS updates in place.
            ger(-1.0 / M, ones, s, a=target.T, overwrite_a=True)
    return out


@functools.cache
def _blas_pools() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")


def _one_blas_thread() -> Any:
    """A context holding every loaded BLAS library to one thread (about 7 us to enter and leave)."""
    return _blas_pools().limit(limits=1)
