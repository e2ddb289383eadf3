r"""Weight Normalization, its gradients and Hessian-vector product, data-dependent initialisation.

Weight Normalization [1]_ writes every output unit's weight vector as a length
times a direction,

.. math::

    w = g\,\frac{v}{\|v\|}, \qquad \|w\| = |g|,

so that the optimiser moves the length :math:`g` and the direction
:math:`v/\|v\|` separately. Its gradients (Sec. 2.1, eqs. 3-4 of [1]_) are

.. math::

    \nabla_g L = \frac{\nabla_w L \cdot v}{\|v\|}, \qquad
    \nabla_v L = \frac{g}{\|v\|} M_w \nabla_w L, \qquad
    M_w = I - \frac{w w^\top}{\|w\|^2},

and :math:`M_w` is the orthogonal projection that Gradient Centralization
applies with :math:`e` in place of :math:`w` (:mod:`gc_theory.projections`).

A weight is stored output axis first, ``(out, in)`` or ``(out, in, kh, kw)``;
``axis`` names the output-unit axis, the one that keeps one g per unit (torch's
``dim=0``). Any axis may be named, negative axes meaning what NumPy means, so
Keras/Flax layouts ``(..., in, out)`` are reached with ``axis=-1``;
``axis=None`` normalises the whole tensor with a 0-d g.

A layer need not form w at all: it can scale its output by :math:`g/\|v\|`
(Sec. 2 of [1]_), and :func:`weight_norm_scaled_backward` gives the gradients
of that form from the plain layer's weight gradient, in place.

Also here: :func:`weight_standardization` (the zero-mean, unit-variance
reparameterisation whose backward centralises), :func:`log_scale` (g = e^s,
Sec. 2 of [1]_), and the per-unit statistics behind mean-only and full batch
normalisation (:func:`mean_only_batch_norm`, :func:`batch_norm`), so that the
layers of :mod:`gc_theory.models.normalization` only call them.

Everything is written against the array API: the inputs decide the namespace
and dtype of the outputs. Norms are accumulated in the input's precision after
dividing each unit by its largest entry, so ``||v||`` neither overflows nor
underflows for any finite v.

References
----------
.. [1] T. Salimans, D. P. Kingma, "Weight Normalization: A Simple
   Reparameterization to Accelerate Training of Deep Neural Networks",
   NeurIPS 2016, arXiv:1602.07868.
.. [2] S. Qiao, H. Wang, C. Liu, W. Shen, A. Yuille, "Micro-Batch Training
   with Batch-Channel Normalization and Weight Standardization",
   arXiv:1903.10520 (weight standardisation).
.. [3] S. Ioffe, C. Szegedy, "Batch Normalization", ICML 2015, Alg. 1.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np

from ._validation import check_all_finite, check_finite_floating, check_floating, check_positive, check_real, normalize_axes
from .backend import array_namespace, dtype_name

__all__ = [
    "batch_norm",
    "batch_norm_backward",
    "data_dependent_init",
    "data_dependent_init_raw_sigma",
    "init_from_preactivations",
    "log_scale",
    "log_scale_backward",
    "mean_only_batch_norm",
    "mean_only_batch_norm_backward",
    "unit_norms",
    "weight_norm",
    "weight_norm_backward",
    "weight_norm_hvp",
    "weight_norm_scaled_backward",
    "weight_standardization",
    "weight_standardization_backward",
]


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


# --- w = g v/||v|| and its derivatives --------------------------------------------------------


def weight_norm(v: Any, g: Any, axis: int | None = 0) -> Any:
    r"""The weight :math:`w = g\,v/\|v\|`, one length g per output unit.

    Parameters
    ----------
    v : array
        The direction parameter, e.g. ``(out, in)`` or ``(out, in, kh, kw)``.
    g : array
        The length of each unit, shape ``(v.shape[axis],)`` (0-d when `axis`
        is None), same dtype as `v`. Negative g flips the unit.
    axis : int or None, default 0
        The output-unit axis.

    Returns
    -------
    array
        w, the shape, namespace and dtype of `v`.

    Raises
    ------
    TypeError
        Integer or mixed dtypes, arrays of different namespaces.
    ValueError
        g of the wrong shape (it is never broadcast), axis out of range, a unit
        of v with zero norm, NaN or Inf.

    Notes
    -----
    .. math:: w_j = g_j \frac{v_j}{\|v_j\|}, \qquad \|w_j\| = |g_j|

    (Sec. 2, eq. 2 of [1]_). Each entry of w carries a relative error of at
    most :math:`\gamma_{M+6}` for units of M entries (:func:`unit_norms`, then
    one division and one product).

    Examples
    --------
    >>> import numpy as np
    >>> w = weight_norm(np.array([[3.0, 4.0], [0.0, 2.0]]), np.array([10.0, -1.0]))
    >>> w.tolist()
    [[6.0, 8.0], [-0.0, -1.0]]
    """
    xp, _, g_shape, b_shape = _unit_layout(v, axis, finite=False)
    _check_like(g, "g", v, "v", g_shape)
    w = v / unit_norms(v, axis)
    w *= xp.reshape(g, b_shape)  # in place: one array the size of v, not two
    return w


def weight_norm_backward(v: Any, g: Any, grad_w: Any, axis: int | None = 0, *, project: bool = True,
                         norm: Any = None, out: Any = None) -> tuple[Any, Any]:
    r"""The gradients :math:`(\nabla_v L, \nabla_g L)` from :math:`\nabla_w L`.

    Parameters
    ----------
    v, g, axis
        As in :func:`weight_norm`.
    grad_w : array
        :math:`\nabla_w L`, the shape and dtype of `v`.
    project : bool, default True
        False drops the projection :math:`M_w` and returns
        :math:`(g/\|v\|)\nabla_w L` for :math:`\nabla_v L`: a *planted bug*, the
        wrong backward that gradient checks and the claims must reject. Never
        use it to train.
    norm : array, optional
        ``unit_norms(v, axis)`` when the caller has it from the forward pass
        (it is then not recomputed).
    out : array, optional
        Where to write :math:`\nabla_v L`: writeable, of the shape, dtype and
        backend of `v`, and not `v` itself; ``out=grad_w`` turns `grad_w` into
        :math:`\nabla_v L` in place. Without it no argument is modified.

    Returns
    -------
    grad_v : array
        The shape of `v` (`out` when given); orthogonal to `v` unit by unit.
    grad_g : array
        The shape of `g`.

    Notes
    -----
    With :math:`u = v/\|v\|` (Sec. 2.1, eqs. 3-4 of [1]_),

    .. math::

        \nabla_g L = u^\top \nabla_w L, \qquad
        \nabla_v L = \frac{g}{\|v\|}\bigl(\nabla_w L - u\,\nabla_g L\bigr)
                   = \frac{g}{\|v\|} M_w \nabla_w L,

    since :math:`M_w = I - u u^\top` for either sign of g. One pass over v
    for the norm, one for the inner product, one for the update: M_w (and u)
    is never formed, and on NumPy the update runs through a buffer of a few
    hundred kilobytes, so nothing the size of v is allocated beyond the
    result (none at all with `out`).
    """
    xp, axes, g_shape, b_shape = _unit_layout(v, axis, finite=False)
    _check_like(g, "g", v, "v", g_shape)
    _check_like(grad_w, "grad_w", v, "v", tuple(v.shape), finite=False)
    _check_out(out, v)
    norm = unit_norms(v, axis) if norm is None else norm
    grad_g = _unit_dot(xp, grad_w, v, axis, axes) / norm
    if not bool(xp.all(xp.isfinite(grad_g))):
        check_all_finite(grad_w, "grad_w")  # NaN or Inf reaches grad_g: name the argument at fault
    scale = xp.reshape(g, b_shape) / norm
    # (g/||v||)(grad_w - u grad_g) with the per-unit factors gathered, so v is read once more and u never formed.
    radial = scale * grad_g / norm if project else None
    return _scale_and_remove(grad_w, scale, radial, v, _units_first(v, axis), out), xp.reshape(grad_g, g_shape)


def weight_norm_scaled_backward(v: Any, g: Any, grad_direction: Any, grad_scale: Any, axis: int | None = 0, *,
                                project: bool = True, norm: Any = None, out: Any = None) -> tuple[Any, Any]:
    r"""The gradients :math:`(\nabla_v L, \nabla_g L)` of a layer that scales its output instead of forming w.

    A weight-normalised layer need not form w: with :math:`t = v\cdot x` per
    output unit (the plain layer run with weight v and no bias) it computes
    :math:`y = s\,t + b`, :math:`s = g/\|v\|` (Sec. 2 of [1]_). Its backward
    runs the plain layer's backward at weight v on the cotangent :math:`s\,dy`,
    which yields the input gradient and `grad_direction`; this function adds
    the path through s.

    Parameters
    ----------
    v, g, axis
        As in :func:`weight_norm`.
    grad_direction : array
        :math:`\partial L/\partial v` at fixed s, the shape and dtype of `v`:
        the plain layer's weight gradient at weight v for the cotangent
        :math:`s\,dy`, which equals :math:`s\,\nabla_w L`.
    grad_scale : array
        :math:`\partial L/\partial s`, the shape of `g`: per output unit, the sum
        of :math:`dy\,t` over the batch (and the positions of a convolution).
    project, norm, out
        As in :func:`weight_norm_backward`; ``out=grad_direction`` works in
        place.

    Returns
    -------
    grad_v : array
        The shape of `v` (`out` when given).
    grad_g : array
        The shape of `g`.

    Notes
    -----
    The chain rule through :math:`s = g/\|v\|`, with
    :math:`\partial\|v\|/\partial v = v/\|v\|`:

    .. math::

        \nabla_g L = \frac{\partial L/\partial s}{\|v\|}, \qquad
        \nabla_v L = \frac{\partial L}{\partial v}\Big|_s
                   - \frac{g\,\partial L/\partial s}{\|v\|^3}\,v
                   = s\,\nabla_w L - \frac{s\,\nabla_g L}{\|v\|}\,v,

    which is :func:`weight_norm_backward`'s result, since
    :math:`\partial L/\partial s = t\cdot dy = \|v\|\,u^\top\nabla_w L`.
    Nothing here divides by s, so g = 0 is no special case. The projection is
    exact in real arithmetic; in floating point :math:`v\cdot\nabla_v L`
    vanishes up to the rounding of the two ways :math:`\partial L/\partial s`
    is reached (:math:`t\cdot dy` here, :math:`v\cdot\nabla_w L` implicitly in
    `grad_direction`), each within :math:`\gamma_K` of the sum of the moduli
    of its terms.
    """
    xp, _, g_shape, b_shape = _unit_layout(v, axis, finite=False)
    _check_like(g, "g", v, "v", g_shape)
    _check_like(grad_direction, "grad_direction", v, "v", tuple(v.shape), finite=False)
    _check_like(grad_scale, "grad_scale", v, "v", g_shape)
    _check_out(out, v)
    norm = unit_norms(v, axis) if norm is None else norm
    grad_g = xp.reshape(grad_scale, b_shape) / norm
    radial = (xp.reshape(g, b_shape) / norm) * grad_g / norm if project else None
    return _scale_and_remove(grad_direction, None, radial, v, _units_first(v, axis), out), xp.reshape(grad_g, g_shape)


def _units_first(v: Any, axis: int | None) -> bool:
    """Whether the units lie on axis 0 (the stored layout), so that each unit is one row of v."""
    return axis is not None and axis % v.ndim == 0


def _check_out(out: Any, v: Any) -> None:
    """`out` (if given) can take a gradient of `v`: same backend, shape and dtype, writeable, and not `v`."""
    if out is None:
        return
    if type(out) is not type(v):
        raise TypeError(f"out must be an array of the same backend as v ({type(v).__name__}), got {type(out).__name__}")
    if tuple(out.shape) != tuple(v.shape) or out.dtype != v.dtype:
        raise ValueError(f"out must match v: shape {tuple(v.shape)} and dtype {dtype_name(v.dtype)}, "
                         f"got shape {tuple(out.shape)} and dtype {dtype_name(out.dtype)}")
    flags = getattr(out, "flags", None)
    if flags is not None and not getattr(flags, "writeable", True):
        raise ValueError("out must be writeable, got a read-only array")
    if out is v:
        raise ValueError("out must not be v: v is read after out is written")


def _scale_and_remove(a: Any, scale: Any, radial: Any, v: Any, units_first: bool, out: Any) -> Any:
    r""":math:`s_j a_j - r_j v_j` for every unit j, into `out` or a new array (`scale` or `radial` None: that factor is left out).

    The reference is two broadcast expressions, each allocating a temporary the
    size of v. NumPy arrays with the units on axis 0 go instead a block of rows
    at a time through a buffer that stays in cache: the same two roundings per
    entry, so the same result to the bit, and at the sizes of real layers no
    fresh pages to fault in (which costs more than the arithmetic).
    """
    if units_first and all(isinstance(x, np.ndarray) and x.flags.c_contiguous for x in (a, v, a if out is None else out)):
        return _scale_and_remove_blocked(a, scale, radial, v, out)
    xp = array_namespace(a)
    if out is None:
        result = a * scale if scale is not None else xp.asarray(a, copy=True)
    else:
        result = out
        if scale is not None and out is a:
            result *= scale
        elif scale is not None:
            result[...] = a * scale
        elif out is not a:
            result[...] = a
    if radial is not None:
        result -= radial * v
    return result


#: Bytes of the buffer :func:`_scale_and_remove_blocked` reuses: a block of rows of v and of the
#: result must stay in a core's L2 cache between the two passes that touch it.
_BLOCK_BYTES = 1 << 18


def _scale_and_remove_blocked(a: np.ndarray, scale: Any, radial: Any, v: np.ndarray, out: Any) -> np.ndarray:
    """NumPy only: :func:`_scale_and_remove` for units on axis 0, a cache-sized block of rows at a time."""
    result = np.empty_like(v) if out is None else out
    if v.size == 0:
        return result
    units = v.shape[0]
    width = v.size // units
    a2, v2, r2 = a.reshape(units, width), v.reshape(units, width), result.reshape(units, width)
    s2 = None if scale is None else np.reshape(scale, (units, 1))
    c2 = None if radial is None else np.reshape(radial, (units, 1))
    rows = max(1, _BLOCK_BYTES // (width * v.itemsize))
    buffer = None if c2 is None else np.empty((min(rows, units), width), dtype=v.dtype)
    for start in range(0, units, rows):
        block = slice(start, start + rows)
        target = r2[block]
        if s2 is not None:
            np.multiply(a2[block], s2[block], out=target)
        elif result is not a:
            np.copyto(target, a2[block])
        if c2 is not None:
            product = buffer[: target.shape[0]]
            np.multiply(v2[block], c2[block], out=product)
            np.subtract(target, product, out=target)
    return result


def weight_norm_hvp(v: Any, g: Any, grad_w: Any, hvp_w: Any, dv: Any, axis: int | None = 0) -> Any:
    r"""The derivative of :math:`\nabla_v L` along `dv`: the Hessian-vector product :math:`H_v\,dv` at fixed g.

    Parameters
    ----------
    v, g, axis
        As in :func:`weight_norm`.
    grad_w : array
        :math:`\nabla_w L` at :math:`w = g v/\|v\|`.
    hvp_w : callable
        ``hvp_w(dw)``: the loss's Hessian in w applied to a weight-shaped ``dw``.
    dv : array
        The direction, the shape of `v`.

    Returns
    -------
    array
        :math:`H_v\,dv`, the shape of `v`.

    Notes
    -----
    Differentiate :math:`\nabla_v L = (g/n)(G - u\,(u^\top G))` with
    :math:`n = \|v\|`, :math:`u = v/n`, :math:`G = \nabla_w L(w)`:

    .. math::

        dn = u^\top dv, \quad du = \frac{M_w\,dv}{n}, \quad dw = g\,du, \quad dG = H_w\,dw,

        H_v\,dv = -\frac{dn}{n}\nabla_v L
                  + \frac{g}{n}\Bigl(dG - du\,(u^\top G) - u\,(du^\top G + u^\top dG)\Bigr).

    For :math:`dv = v` this gives :math:`du = 0`, :math:`dn = n` and so
    :math:`H_v v = -\nabla_v L`: the loss is constant along rays (Sec. 2.1 of [1]_).
    """
    xp, axes, g_shape, b_shape = _unit_layout(v, axis)
    _check_like(g, "g", v, "v", g_shape)
    _check_like(grad_w, "grad_w", v, "v", tuple(v.shape))
    _check_like(dv, "dv", v, "v", tuple(v.shape))
    norm = unit_norms(v, axis)
    u = v / norm
    gb = xp.reshape(g, b_shape)

    def along(a: Any, b: Any) -> Any:
        return xp.sum(a * b, axis=axes, keepdims=True)

    dn = along(u, dv)
    du = (dv - u * dn) / norm
    dG = hvp_w(gb * du)
    uG = along(u, grad_w)
    grad_v = (gb / norm) * (grad_w - u * uG)
    return -(dn / norm) * grad_v + (gb / norm) * (dG - du * uG - u * (along(du, grad_w) + along(u, dG)))


def log_scale(s: Any) -> Any:
    r"""The length :math:`g = e^s` of the log-scale parameterisation (Sec. 2 of [1]_): g stays positive."""
    xp = check_finite_floating(s, "s")
    return xp.exp(s)


def log_scale_backward(s: Any, grad_g: Any) -> Any:
    r""":math:`\nabla_s L = e^s\,\nabla_g L`, the chain rule through :math:`g = e^s`."""
    _check_like(grad_g, "grad_g", s, "s", tuple(s.shape))
    return log_scale(s) * grad_g


# --- data-dependent initialisation (Sec. 3 of [1]) ------------------------------------------


def init_from_preactivations(t: Any, *, init_scale: float = 1.0, axis: int = 1, fallback: bool = False) -> tuple[Any, Any]:
    r"""(g, b) that give each unit of `t` mean 0 and standard deviation `init_scale` on this batch.

    Parameters
    ----------
    t : array
        The normalised pre-activations :math:`t = v\cdot x/\|v\|` of a batch:
        ``(batch, out)`` or ``(batch, out, h, w)``.
    init_scale : float
        The standard deviation wanted, > 0.
    axis : int
        The unit (channel) axis of `t`; the statistics run over all others.
    fallback : bool
        What to do with a unit whose :math:`\sigma[t] = 0` (constant inputs, a
        batch of one, a dead unit). False (default): ValueError naming the
        units. True: keep that unit's length, g = init_scale, b = -mu g, and
        warn (a RuntimeWarning) instead of dividing by zero.

    Returns
    -------
    g, b : arrays of shape ``(t.shape[axis],)``

    Notes
    -----
    With the population moments :math:`\mu[t]`, :math:`\sigma[t]` (Sec. 3 of [1]_)

    .. math:: g = \frac{\mathrm{init\_scale}}{\sigma[t]}, \qquad b = -\mu[t]\,g,

    so :math:`g t + b` has mean 0 and variance :math:`\mathrm{init\_scale}^2`
    per unit. No small constant is added to :math:`\sigma`: a constant unit
    would otherwise get :math:`g \approx 10^5` and blow up its layer.
    """
    xp = check_finite_floating(t, "t")
    scale = check_positive(init_scale, "init_scale")
    if t.ndim < 2:
        raise ValueError(f"t must have a batch axis and a unit axis, got shape {tuple(t.shape)}")
    (a,) = normalize_axes(axis, t.ndim)
    axes = tuple(i for i in range(t.ndim) if i != a)
    mu = xp.mean(t, axis=axes)
    shape = [1] * t.ndim
    shape[a] = t.shape[a]
    centred = t - xp.reshape(mu, tuple(shape))
    sigma = xp.sqrt(xp.mean(centred * centred, axis=axes))
    # a spread at rounding level of mu is no spread: it is what a constant unit leaves behind
    floor = 4 * float(xp.finfo(t.dtype).eps) * xp.abs(mu)
    dead = sigma <= floor
    if bool(xp.any(dead)):
        units = [int(i) for i in xp.nonzero(dead)[0]][:5]
        message = (f"sigma[t] = 0 on the init batch for units {units} (constant inputs, a batch of one or dead "
                   f"units): data-dependent initialisation cannot set their scale")
        if not fallback:
            raise ValueError(message + "; use a batch that varies, or fallback=True to keep g = init_scale there")
        warnings.warn(message + "; those units keep g = init_scale", RuntimeWarning, stacklevel=2)
        sigma = xp.where(dead, xp.ones_like(sigma), sigma)
    g = scale / sigma
    return g, -mu * g


def _dense_preactivations(v: Any, x: Any, normalise: bool) -> Any:
    xp, _, _, _ = _unit_layout(v, 0)
    if v.ndim != 2:
        raise ValueError(f"v must be a fully connected weight (out, in), got shape {tuple(v.shape)}")
    xq = check_finite_floating(x, "x")
    if xq is not xp or x.dtype != v.dtype:
        raise TypeError(f"x must be an array of v's namespace and dtype ({dtype_name(v.dtype)})")
    if x.ndim != 2 or x.shape[1] != v.shape[1]:
        raise ValueError(f"x must have shape (batch, {v.shape[1]}) to match v {tuple(v.shape)}, got {tuple(x.shape)}")
    raw = x @ v.T
    return raw / xp.reshape(unit_norms(v, 0), (1, v.shape[0])) if normalise else raw


def data_dependent_init(v: Any, x: Any, *, init_scale: float = 1.0, fallback: bool = False) -> tuple[Any, Any]:
    r"""Data-dependent initialisation of a weight-normalised fully connected layer: (g, b).

    Parameters
    ----------
    v : array, shape (out, in)
        The direction parameter.
    x : array, shape (batch, in)
        The init batch (the layer's input).
    init_scale : float
        Standard deviation of each pre-activation after the init.
    fallback : bool
        See :func:`init_from_preactivations`.

    Returns
    -------
    g, b : arrays of shape (out,)

    Notes
    -----
    :math:`t = v\cdot x/\|v\|` is the pre-activation with g = 1, b = 0; then
    :math:`g = \mathrm{init\_scale}/\sigma[t]`, :math:`b = -\mu[t]\,g` (Sec. 3 of
    [1]_), computed from the *normalised* t before any nonlinearity. Convolutions
    and whole networks go through
    :meth:`gc_theory.models.normalization.WeightNorm.data_dependent_init` and
    :func:`gc_theory.models.normalization.data_dependent_init_network`, which
    compute t with the layer itself.
    """
    return init_from_preactivations(_dense_preactivations(v, x, True), init_scale=init_scale, fallback=fallback)


def data_dependent_init_raw_sigma(v: Any, x: Any, *, init_scale: float = 1.0) -> tuple[Any, Any]:
    r"""A known mistake, kept as a control: sigma and mu of the *raw* :math:`v\cdot x`, not of :math:`v\cdot x/\|v\|`.

    The pre-activation variance it leaves is :math:`\mathrm{init\_scale}^2/\|v\|^2`
    per unit: right only where :math:`\|v\| = 1`, which square layers with a
    default init come close to. Do not use it to initialise.
    """
    return init_from_preactivations(_dense_preactivations(v, x, False), init_scale=init_scale)


# --- weight standardisation -----------------------------------------------------------------


def _moments(w: Any, axis: int | None, name: str) -> tuple[Any, tuple[int, ...], Any, Any]:
    xp, axes, _, _ = _unit_layout(w, axis, name)
    mean = xp.mean(w, axis=axes, keepdims=True)
    centred = w - mean
    std = xp.sqrt(xp.mean(centred * centred, axis=axes, keepdims=True))
    if bool(xp.any(std == 0)):
        first = int(xp.argmax(xp.astype(xp.reshape(std == 0, (-1,)), xp.int8)))
        raise ValueError(f"{name} is constant on unit {first}: its standard deviation is 0, nothing to standardise")
    return xp, axes, centred, std


def weight_standardization(w: Any, axis: int | None = 0) -> Any:
    r"""Weight standardisation :math:`\hat w = (w - \mu)/\sigma` per output unit (population sigma).

    Parameters
    ----------
    w : array
        Real floating, finite; `axis` is the output-unit axis.
    axis : int or None

    Returns
    -------
    array
        Each unit with mean 0 and population variance 1.

    Raises
    ------
    ValueError
        A unit that is constant (sigma = 0), axis out of range, NaN or Inf.

    References
    ----------
    Qiao et al. 2019 [2]_, eq. 5 (no epsilon is added: a constant unit raises).
    """
    _, _, centred, std = _moments(w, axis, "w")
    return centred / std


def weight_standardization_backward(w: Any, grad_ws: Any, axis: int | None = 0) -> Any:
    r""":math:`\nabla_w L` from :math:`\nabla_{\hat w} L` through weight standardisation.

    Notes
    -----
    With :math:`\hat w = (w - \mu\mathbf 1)/\sigma` over M entries and
    :math:`G = \nabla_{\hat w} L`,

    .. math::

        \nabla_w L = \frac{1}{\sigma}\Bigl(G - \bar G\,\mathbf 1
                     - \hat w\,\frac{\hat w^\top G}{M}\Bigr),

    the projection of G onto the complement of :math:`\mathbf 1` and
    :math:`\hat w` (which are orthogonal): GC happens inside WS, and the result
    has zero mean and is orthogonal to :math:`\hat w`.
    """
    xp, axes, centred, std = _moments(w, axis, "w")
    _check_like(grad_ws, "grad_ws", w, "w", tuple(w.shape))
    ws = centred / std
    return (grad_ws - xp.mean(grad_ws, axis=axes, keepdims=True)
            - ws * xp.mean(ws * grad_ws, axis=axes, keepdims=True)) / std


# --- batch statistics per unit: mean-only and full batch normalisation -----------------------


def _feature_axes(x: Any, name: str = "x") -> tuple[Any, tuple[int, ...]]:
    """The axes a batch statistic runs over: all but axis 1 (features/channels)."""
    xp = check_finite_floating(x, name)
    if x.ndim < 2:
        raise ValueError(f"{name} must be (batch, features, ...), got shape {tuple(x.shape)}")
    return xp, tuple(i for i in range(x.ndim) if i != 1)


def mean_only_batch_norm(x: Any) -> tuple[Any, Any]:
    r"""Subtract each feature's batch mean: ``(x - mu, mu)``, features on axis 1 (Sec. 4 of [1]_)."""
    xp, axes = _feature_axes(x)
    mu = xp.mean(x, axis=axes, keepdims=True)
    return x - mu, xp.reshape(mu, (x.shape[1],))


def mean_only_batch_norm_backward(dy: Any) -> Any:
    r"""The input gradient of :func:`mean_only_batch_norm`: :math:`dy - \overline{dy}` per feature.

    Notes
    -----
    :math:`\partial(x_i - \frac1n\sum_k x_k)/\partial x_j = \delta_{ij} - 1/n`, so
    the backward is :math:`(I - \mathbf 1\mathbf 1^\top/n)\,dy`: GC's projection P,
    applied over the examples of the batch instead of the inputs of a unit.
    """
    xp, axes = _feature_axes(dy, "dy")
    return dy - xp.mean(dy, axis=axes, keepdims=True)


def batch_norm(x: Any, eps: float = 0.0) -> tuple[Any, Any, Any]:
    r"""Normalise each feature over the batch: ``(x_hat, mu, sigma)`` with :math:`\sigma = \sqrt{\mathrm{var} + \epsilon}`.

    Parameters
    ----------
    x : array
        ``(batch, features, ...)``.
    eps : float
        Added to the population variance, >= 0. With eps = 0 a constant
        feature raises a ValueError instead of returning NaN.

    References
    ----------
    Ioffe and Szegedy 2015 [3]_, Alg. 1 (population variance in training).
    """
    xp, axes = _feature_axes(x)
    eps = check_real(eps, "eps", low=0.0)
    mu = xp.mean(x, axis=axes, keepdims=True)
    centred = x - mu
    sigma = xp.sqrt(xp.mean(centred * centred, axis=axes, keepdims=True) + eps)
    if bool(xp.any(sigma == 0)):
        raise ValueError("x has a feature that is constant over the batch and eps = 0: batch norm would divide by 0")
    return centred / sigma, xp.reshape(mu, (x.shape[1],)), xp.reshape(sigma, (x.shape[1],))


def batch_norm_backward(x_hat: Any, sigma: Any, dy: Any) -> Any:
    r"""The input gradient of :func:`batch_norm` from the gradient of ``x_hat``.

    Notes
    -----
    .. math::

        \nabla_x L = \frac{1}{\sigma}\Bigl(dy - \overline{dy} - \hat x\,\overline{\hat x\,dy}\Bigr),

    the mean-only backward followed by removing the :math:`\hat x` direction,
    both over the batch (Ioffe and Szegedy [3]_, Sec. 3).
    """
    xp, axes = _feature_axes(dy, "dy")
    shape = [1] * dy.ndim
    shape[1] = dy.shape[1]
    return (mean_only_batch_norm_backward(dy) - x_hat * xp.mean(x_hat * dy, axis=axes, keepdims=True)) / xp.reshape(sigma, tuple(shape))
