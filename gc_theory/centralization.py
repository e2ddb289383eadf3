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
#: The largest dense P that :func:`projection_matrix` builds. Past it, apply P
#: without forming it: ``centralize`` computes P g as g - mean(g).
MAX_DENSE_BYTES = 1 << 30


def _namespace(xp: Any) -> ModuleType:
    """`xp` itself when it is an array namespace, the default (NumPy) for None; a TypeError otherwise."""
    if xp is None:
        return get_namespace()
    if not isinstance(xp, ModuleType) or not all(hasattr(xp, f) for f in ("asarray", "eye", "full")):
        raise TypeError(
            f"xp must be an array namespace (a module such as numpy or array_api_strict), "
            f"got {type(xp).__name__} {xp!r}; gc_theory.backend.get_namespace({xp!r}) returns one by name"
            if isinstance(xp, str) else
            f"xp must be an array namespace (a module such as numpy or array_api_strict), got {type(xp).__name__}"
        )
    return xp


def unit_vector(M: int, *, xp: ModuleType | None = None, dtype: Any = "float64") -> Any:
    r"""The unit vector :math:`e = \mathbf{1}/\sqrt{M}` of :math:`\mathbb{R}^M`."""
    M = check_positive_int(M, "M")
    xp = _namespace(xp)
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

    Raises
    ------
    ValueError
        If P would take more than :data:`MAX_DENSE_BYTES` (1 GiB): P of a
        weight vector with 10^5 entries is 75 GiB in float64, and
        :func:`centralize` applies it in O(M) memory.
    """
    M = check_positive_int(M, "M")
    xp = _namespace(xp)
    dt = resolve_dtype(xp, dtype)
    size = M * M * np.dtype(dtype_name(dt)).itemsize
    if size > MAX_DENSE_BYTES:
        raise ValueError(
            f"projection_matrix(M={M}) would take {size / 2**30:.1f} GiB as {dtype_name(dt)} "
            f"(the limit is {MAX_DENSE_BYTES / 2**30:g} GiB); apply P without forming it with "
            "centralize(g), which computes P g = g - mean(g)"
        )
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
    result = g - _row_means(g, axes, xp)
    if out is None:
        return result
    out[...] = result
    return out


def _row_means(g: Any, axes: tuple[int, ...], xp: Any) -> Any:
    """The mean of each weight vector, finite whenever the vector is, even past the float range.

    A sum of values near the largest float overflows although their mean is
    representable; for those rows (a non-finite mean of finite entries) the
    mean is taken of the values scaled by the row's largest magnitude, then
    scaled back. Rows holding NaN or Inf keep their non-finite mean, so bad
    gradients still show. The extra passes run only when some mean is not finite.
    """
    with np.errstate(over="ignore"):  # an overflowing sum is detected and repaired below
        mean = xp.mean(g, axis=axes, keepdims=True)
    bad = ~xp.isfinite(mean)
    if not bool(xp.any(bad)):
        return mean
    overflowed = bad & xp.all(xp.isfinite(g), axis=axes, keepdims=True)
    # Only overflowed rows are scaled; the others divide by 1, so no Inf/Inf appears.
    scale = xp.where(overflowed, xp.max(xp.abs(g), axis=axes, keepdims=True), xp.ones_like(mean))
    return xp.where(overflowed, xp.mean(g / scale, axis=axes, keepdims=True) * scale, mean)


def _fast_path_applies(g: Any, axes: tuple[int, ...], out: Any) -> bool:
    """NumPy float32/float64 in native byte order, C-contiguous, averaged over the trailing axes.

    BLAS computes in exactly those two types: any other (float16, longdouble, a
    byte-swapped array) would be converted to a copy, so it takes the
    namespace path, which computes and returns in the input's own precision.
    """
    trailing = axes == tuple(range(g.ndim - len(axes), g.ndim))
    return (
        isinstance(g, np.ndarray)
        and trailing
        and g.flags.c_contiguous
        and _blas_type(g.dtype)
        and (out is None or (out.flags.c_contiguous and _blas_type(out.dtype)))
    )


def _blas_type(dtype: np.dtype) -> bool:
    return dtype.isnative and dtype.type in (np.float32, np.float64)


def _check_out(out: Any, g: Any) -> None:
    if type(out) is not type(g):
        raise TypeError(f"out must be an array of the same backend as g ({type(g).__name__}), got {type(out).__name__}")
    if not getattr(getattr(out, "flags", None), "writeable", True):
        raise ValueError("out is read-only; pass a writeable array (or no out, to get a new one)")
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
            if not np.all(np.isfinite(s)):  # rare: NaN/Inf, or a sum past the float range
                with np.errstate(invalid="ignore"):  # Inf - Inf: NaN propagates, as documented
                    np.subtract(block, _row_means(block, (1,), np), out=target)
                continue
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
