"""Which axis holds the units, which axes one unit's vector spans, and each unit's norm.

Private helpers of the package; :func:`unit_norms` is public and re-exported by
:mod:`gc_theory.weightnorm`.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any


from gc_theory.core.backend import array_namespace, dtype_name
from gc_theory.core.validation import check_all_finite, check_finite_floating, check_floating, normalize_axes

__all__ = ['unit_norms']


# --- layout: which axis holds the units, which axes one unit's vector spans ---------------


def _unit_layout(v: Any, axis: int | None, name: str = "v", *, finite: bool = True) -> tuple[Any, tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """(xp, reduced axes, shape of g, shape g broadcasts to) for a weight `v` and unit `axis`.

    ``finite=False`` skips the pass over `v` that looks for NaN and Inf, for
    callers that detect them more cheaply in a result computed from `v` anyway.
    """
    xp = check_finite_floating(v, name) if finite else check_floating(v, name)
    if v.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension, got a 0-d array")
    if axis is None:
        return xp, tuple(range(v.ndim)), (), (1,) * v.ndim
    if isinstance(axis, (bool,)) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"axis must be an integer or None, got {type(axis).__name__} {axis!r}")
    (a,) = normalize_axes(axis, v.ndim)
    broadcast = [1] * v.ndim
    broadcast[a] = v.shape[a]
    return xp, tuple(i for i in range(v.ndim) if i != a), (v.shape[a],), tuple(broadcast)


def _check_like(x: Any, name: str, ref: Any, ref_name: str, shape: tuple[int, ...], *, finite: bool = True) -> None:
    """`x` is floating (and finite unless ``finite=False``), of `ref`'s namespace and dtype, and of `shape`."""
    xp = check_finite_floating(x, name) if finite else check_floating(x, name)
    if xp is not array_namespace(ref):
        raise TypeError(f"{name} must be an array of the namespace of {ref_name}")
    if x.dtype != ref.dtype:
        raise TypeError(f"{name} must have the dtype of {ref_name} ({dtype_name(ref.dtype)}), got {dtype_name(x.dtype)}")
    if tuple(x.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)} (one entry per unit), got {tuple(x.shape)}")


def unit_norms(v: Any, axis: int | None = 0) -> Any:
    r"""The Euclidean norm of every unit of `v`, shaped to broadcast against `v`.

    Parameters
    ----------
    v : array
        Real floating, finite.
    axis : int or None
        The output-unit axis (None: one norm of the whole tensor).

    Returns
    -------
    array
        :math:`\|v_j\|`, shape `v.shape` with 1 on every reduced axis.

    Raises
    ------
    ValueError
        If a unit has zero norm, naming the unit: weight normalisation divides by it.

    Notes
    -----
    One pass computes :math:`\sqrt{\sum_i v_i^2}`; only where that sum
    overflowed, or is small enough (below the smallest normal number over eps) that
    subnormal squares could cost accuracy, is the unit recomputed as
    :math:`m\sqrt{\sum_i (v_i/m)^2}` with :math:`m = \max_i |v_i|`, which can
    neither overflow nor underflow. Either way the relative error is at most
    :math:`\gamma_{M+4}` for a unit of M entries. NaN or Inf in v shows up in
    the sum, so v is not scanned for them separately.
    """
    xp, axes, _, _ = _unit_layout(v, axis, finite=False)
    sumsq = _sum_squares(xp, v, axis, axes)
    finfo = xp.finfo(v.dtype)
    if bool(xp.all(sumsq >= float(finfo.smallest_normal) / float(finfo.eps))) and bool(xp.all(sumsq <= float(finfo.max))):
        return xp.sqrt(sumsq)
    check_all_finite(v, "v")  # NaN or Inf: raise naming v; otherwise only the scale was extreme
    big = xp.max(xp.abs(v), axis=axes, keepdims=True)
    zero = big == 0
    if bool(xp.any(zero)):
        first = int(xp.argmax(xp.astype(xp.reshape(zero, (-1,)), xp.int8)))
        where = "the whole tensor" if axis is None else f"unit {first} (index {first} along axis {axis})"
        raise ValueError(f"v has zero norm for {where}; weight normalisation divides by ||v||, so re-initialise it")
    scaled = v / big
    return big * xp.sqrt(xp.sum(scaled * scaled, axis=axes, keepdims=True))


def _sum_squares(xp: Any, v: Any, axis: int | None, axes: tuple[int, ...]) -> Any:
    """Per-unit sum of squares, shaped to broadcast against v (one fused pass for the output-first layout).

    An overflow here is expected and handled by the caller (the scaled recomputation), so NumPy's warning is muted.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _unit_dot(xp, v, v, axis, axes)


def _unit_dot(xp: Any, a: Any, b: Any, axis: int | None, axes: tuple[int, ...]) -> Any:
    """Per-unit inner product of a and b, shaped to broadcast against them.

    For the output-first layout one fused ``vecdot`` pass and no temporary the size of the weight:
    at the sizes of real layers a fresh temporary costs more (page faults) than the arithmetic.
    """
    if axis is not None and axes == tuple(range(1, a.ndim)) and a.ndim > 1:
        flat_a, flat_b = xp.reshape(a, (a.shape[0], -1)), xp.reshape(b, (b.shape[0], -1))
        return xp.reshape(xp.vecdot(flat_a, flat_b), (a.shape[0],) + (1,) * (a.ndim - 1))
    return xp.sum(a * b, axis=axes, keepdims=True)


# --- per-unit moments that neither overflow nor underflow -----------------------------------


def _unit_moments(xp: Any, x: Any, axes: tuple[int, ...], name: str = "x") -> tuple[Any, Any, Any, Any]:
    r"""(c, m, mu, s) per unit, with :math:`x - \bar x = m\,c`, :math:`\bar x = m\,\mu` and :math:`\sigma = m\,s`.

    The statistics run over `axes` and keep their dimensions, so every result
    broadcasts against `x`. `s` is the population standard deviation of `c`.

    Notes
    -----
    The direct form (m = 1) is tried first: a mean, then the centred values
    corrected by their own mean (the two-pass correction of Chan, Golub and
    LeVeque), whose rounding is relative to the spread of the unit rather than
    to its mean, so a near-constant unit keeps its digits. Only where the mean
    or the variance is not finite, or the variance is small enough (below the
    smallest normal number over eps) that subnormal squares would cost
    accuracy, is everything recomputed on :math:`x/m` with
    :math:`m = \max_i |x_i|` per unit, where nothing can overflow or
    underflow; each factor is then within a few :math:`\gamma_M` of exact for
    a unit of M entries. Callers combine the factors so that no product of two
    extreme numbers is ever formed (e.g. :math:`\hat x = c/s`).

    References
    ----------
    T. F. Chan, G. H. Golub, R. J. LeVeque, "Algorithms for computing the sample
    variance: analysis and recommendations", The American Statistician 37 (1983).
    """
    finfo = xp.finfo(x.dtype)
    with warnings.catch_warnings():
        # an overflow here is detected below and answered with the scaled recomputation
        warnings.simplefilter("ignore", RuntimeWarning)
        c, mu, var = _centred(xp, x, axes)
        fine = bool(xp.all(xp.isfinite(mu))) and bool(xp.all(var <= float(finfo.max)))
        # var == 0 is ambiguous (a constant unit, or squares that underflowed): the scaled pass tells them apart
        fine = fine and bool(xp.all(var >= float(finfo.smallest_normal) / float(finfo.eps)))
    if fine:
        one = xp.ones_like(mu)
        return c, one, mu, xp.sqrt(var)
    check_all_finite(x, name)  # NaN or Inf: name the argument; otherwise only the scale was extreme
    m = xp.max(xp.abs(x), axis=axes, keepdims=True)
    m = xp.where(m == 0, xp.ones_like(m), m)  # an all-zero unit stays zero; its spread is 0
    c, mu, var = _centred(xp, x / m, axes)
    return c, m, mu, xp.sqrt(var)


def _centred(xp: Any, x: Any, axes: tuple[int, ...]) -> tuple[Any, Any, Any]:
    """(x - mean, mean, population variance), the centred values corrected by their own mean."""
    mu = xp.mean(x, axis=axes, keepdims=True)
    c = x - mu
    shift = xp.mean(c, axis=axes, keepdims=True)
    c = c - shift
    return c, mu + shift, xp.mean(c * c, axis=axes, keepdims=True)


def _first_index(xp: Any, mask: Any) -> int:
    """The flat index of the first True entry of `mask`."""
    return int(xp.argmax(xp.astype(xp.reshape(mask, (-1,)), xp.int8)))
