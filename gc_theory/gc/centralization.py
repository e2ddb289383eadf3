r"""Gradient Centralization: the operator, its matrix P and the two weight views.

GC replaces the gradient of each weight vector by that gradient minus its mean
[1]_. Written with the unit vector :math:`e = \mathbf{1}/\sqrt{M}`, the operator
on one weight vector :math:`w \in \mathbb{R}^M` is the orthogonal projection

.. math::

    \Phi_{GC}(\nabla_w L) = P \nabla_w L, \qquad P = I - e e^\top,

onto the hyperplane :math:`e^\top x = 0`: the rank-one projection of
:mod:`gc_theory.gc.projections` with the direction :math:`e`.

Two views of the same weight
----------------------------
Weights are stored output-axis first, as in PyTorch: a fully connected weight
is ``(out, in)``, a convolution weight ``(out, in, kh, kw)``. The paper writes
the same weight as a matrix :math:`W \in \mathbb{R}^{M \times N}` whose
*columns* :math:`w_i` are the output units, with :math:`M = in \cdot kh \cdot kw`
and :math:`N = out`. :func:`as_columns` and :func:`from_columns` (from
:mod:`gc_theory.gc.layouts`, re-exported here) convert between the two, so that ``centralize(G) == from_columns(P @ as_columns(G), G.shape)``
(the claim ``gc.centralize.matches_P``). ``axis`` names the output-unit axis,
the one kept, as everywhere in the toolkit: layouts that keep the output axis
last (Keras, Flax) pass ``axis=-1`` for a ``(kh, kw, in, out)`` kernel.

References
----------
.. [1] H. Yong, J. Huang, X. Hua, L. Zhang, "Gradient Centralization: A New
   Optimization Technique for Deep Neural Networks", ECCV 2020, Sec. 3.1-3.2,
   Eqs. (4)-(5). arXiv:2004.01461.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import numpy as np

from . import _blocked
from gc_theory.core.validation import check_floating, check_positive_int
from gc_theory.core.backend import array_namespace, dtype_name, get_namespace, resolve_dtype
from .layouts import Axis, as_columns, fan_in, from_columns, is_centralizable, reduction_axes

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

#: Largest projection matrix :func:`projection_matrix` builds. P is dense and
#: M x M, so memory grows as M^2; GC itself never needs it (:func:`centralize`
#: and :func:`gc_theory.gc.projections.project_out` apply P in O(M) memory).
MAX_MATRIX_BYTES = 1 << 30


def _namespace(xp: Any) -> ModuleType:
    if xp is None:
        return get_namespace()
    if not hasattr(xp, "asarray") or not hasattr(xp, "eye"):
        raise TypeError(
            f"xp must be an array namespace (a module such as numpy), got {type(xp).__name__} {xp!r}; "
            "for a backend name use gc_theory.core.backend.get_namespace(name)"
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
    P takes :math:`M^2` entries; above :data:`MAX_MATRIX_BYTES` (1 GiB, M about
    11585 in float64) it is refused with its size. For ``M = 1`` the matrix is ``[[0]]``: a weight vector with one entry is
    zeroed by GC and would never train. :func:`is_centralizable` tells such
    shapes apart so that optimisers can skip them.
    """
    M = check_positive_int(M, "M")
    xp = _namespace(xp)
    dt = resolve_dtype(xp, dtype)
    size = M * M * np.dtype(dtype_name(dt)).itemsize
    if size > MAX_MATRIX_BYTES:
        raise ValueError(
            f"M={M} would make P a dense {M}x{M} {dtype_name(dt)} matrix of {size / 2**30:.1f} GiB, "
            f"above the {MAX_MATRIX_BYTES / 2**30:.0f} GiB limit (MAX_MATRIX_BYTES); apply P without "
            "forming it: centralize(g), or gc_theory.gc.projections.project_out(x, ones(M))"
        )
    return xp.eye(M, dtype=dt) - xp.full((M, M), 1.0 / M, dtype=dt)


def centralize(g: Any, axis: Axis = 0, *, out: Any = None) -> Any:
    r"""Subtract from each weight vector's gradient its mean: :math:`P g` per output unit.

    Parameters
    ----------
    g : array
        Gradient of a weight, of any array-API backend and any real floating
        dtype (on NumPy also float16, longdouble and either byte order).
        Stored output-axis first: ``(out, in)`` or ``(out, in, kh, kw)``.
    axis : int or None, optional
        The output-unit axis, the one that is kept (the toolkit's one
        convention, as in :func:`gc_theory.weightnorm.weight_norm`); every other
        axis is averaged. Default 0, the stored layout; ``-1`` for a Keras/Flax
        layout with the output axis last; None averages the whole tensor. With
        the default, 0-d and 1-d arrays (biases, norm scales) are returned
        unchanged, as in the reference GC code.
    out : array, optional
        Where to write the result: writeable, of the same shape, dtype (byte
        order included) and backend as `g`; ``out=g`` centralises in place.
        Without it, `g` is never modified.

    Returns
    -------
    array
        A new array (or `out`) of the namespace and precision of `g`, computed
        in that precision; a byte-swapped `g` gives a native-order result, as
        NumPy's arithmetic does.

    Raises
    ------
    TypeError
        If `g` is not a real floating array (integer, bool, complex dtypes, a
        masked array), or `axis` is not an integer or None (a tuple of averaged
        axes, the other convention, is refused with what to pass instead).
    ValueError
        If `axis` is out of range, or `out` does not match `g` or is read-only.

    Notes
    -----
    For a weight vector :math:`w \in \mathbb{R}^M`,

    .. math::

        \Phi_{GC}(g) = g - \frac{1}{M}\sum_{j=1}^{M} g_j \,\mathbf{1}
                     = (I - e e^\top) g .

    The mean never overflows for finite `g`: a row whose sum exceeds the
    float range is summed again scaled by an exact power of two. The result
    itself overflows only where its exact value is out of range (entries of
    both signs near the largest float).

    NaN and Inf propagate (a NaN in a weight vector's gradient makes the whole
    vector NaN); the claims and ``gc-theory verify`` report them. When the
    averaged axes have total size 1 the result is zero: see
    :func:`is_centralizable`.

    On NumPy, float32/float64 C-contiguous arrays averaged over trailing axes
    take a cache-blocked BLAS path (:mod:`gc_theory.gc._blocked`) that
    streams the tensor from memory once, like a copy, with the same rounding.

    Examples
    --------
    >>> import numpy as np
    >>> from gc_theory import centralize
    >>> g = np.array([[1.0, 2.0, 6.0], [0.0, 0.0, 3.0]])   # a fully connected gradient, (out, in)
    >>> centralize(g)                                      # each row minus its mean
    array([[-2., -1.,  3.],
           [-1., -1.,  2.]])
    >>> centralize(np.ones(4))                             # a bias is left as it is
    array([1., 1., 1., 1.])
    >>> k = np.ones((2, 1, 2, 2)); k[0, 0, 0, 0] = 5.0      # a conv gradient, (out, in, kh, kw)
    >>> centralize(k).reshape(2, -1)                       # the mean over in, kh, kw of each output unit
    array([[ 3., -1., -1., -1.],
           [ 0.,  0.,  0.,  0.]])
    >>> keras = k.transpose(2, 3, 1, 0)                    # the same kernel as (kh, kw, in, out)
    >>> bool(np.all(centralize(keras, axis=-1) == centralize(k).transpose(2, 3, 1, 0)))
    True

    """
    xp = check_floating(g, "g")
    axes = reduction_axes(g.shape, axis)
    if out is not None:
        _check_out(out, g)
    if _blocked.applies(g, axes, out):
        return _blocked.centralize(g, fan_in(g.shape, axis), out)
    result = g - _mean(g, axes) if axes else xp.asarray(g, copy=True)
    if out is None:
        return result
    out[...] = result
    return out


def _mean(g: Any, axes: tuple[int, ...]) -> Any:
    r"""The mean over `axes`, kept as size-1 axes; rescaled where the plain sum overflows.

    Dividing by :math:`2^k \ge M` before summing is exact (short of underflow,
    which only touches entries far below the overflowing ones) and keeps every
    partial sum within the largest entry; multiplying back by :math:`2^k` is
    exact too. Only rows whose plain mean is not finite take the rescaled one.
    """
    xp = array_namespace(g)
    with np.errstate(over="ignore"):  # an overflowing sum is handled below, not an error
        mean = xp.mean(g, axis=axes, keepdims=True)
    finite = xp.isfinite(mean)
    if bool(xp.all(finite)):
        return mean
    power = 2.0 ** math.ceil(math.log2(math.prod(g.shape[a] for a in axes)))
    rescaled = xp.mean(g / power, axis=axes, keepdims=True) * power
    return xp.where(finite, mean, rescaled)


def _check_out(out: Any, g: Any) -> None:
    if type(out) is not type(g):
        raise TypeError(f"out must be an array of the same backend as g ({type(g).__name__}), got {type(out).__name__}")
    if tuple(out.shape) != tuple(g.shape) or out.dtype != g.dtype:
        raise ValueError(
            f"out must match g: shape {tuple(g.shape)} and dtype {g.dtype}, "
            f"got shape {tuple(out.shape)} and dtype {out.dtype}"
        )
    flags = getattr(out, "flags", None)
    if flags is not None and not getattr(flags, "writeable", True):
        raise ValueError("out must be writeable, got a read-only array (NumPy refuses to assign into it too)")
