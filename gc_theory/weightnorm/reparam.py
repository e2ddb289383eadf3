r"""The reparameterisation :math:`w = g\,v/\|v\|`, its gradients through :math:`M_w` and its Hessian-vector product.

Its gradients (Sec. 2.1, eqs. 3-4 of [1]_) are

.. math::

    \nabla_g L = \frac{\nabla_w L \cdot v}{\|v\|}, \qquad
    \nabla_v L = \frac{g}{\|v\|} M_w \nabla_w L, \qquad
    M_w = I - \frac{w w^\top}{\|w\|^2},

and :math:`M_w` is the orthogonal projection that Gradient Centralization
applies with :math:`e` in place of :math:`w` (:mod:`gc_theory.gc.projections`).
A layer need not form w at all: it can scale its output by :math:`g/\|v\|`
(Sec. 2 of [1]_), and :func:`weight_norm_scaled_backward` gives the gradients
of that form from the plain layer's weight gradient, in place.
:func:`log_scale` is the parameterisation g = e^s.

References
----------
.. [1] T. Salimans, D. P. Kingma, "Weight Normalization: A Simple
   Reparameterization to Accelerate Training of Deep Neural Networks",
   NeurIPS 2016, arXiv:1602.07868.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gc_theory.core.backend import array_namespace, dtype_name
from gc_theory.core.validation import check_all_finite, check_finite_floating

from ._units import _check_like, _unit_dot, _unit_layout, unit_norms

__all__ = ['log_scale', 'log_scale_backward', 'weight_norm', 'weight_norm_backward', 'weight_norm_hvp', 'weight_norm_scaled_backward']


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
    # A view of v (v.T, v[::-1]) is as wrong as v itself; NumPy can tell exactly.
    if isinstance(out, np.ndarray) and np.shares_memory(out, v):
        raise ValueError("out must not share memory with v (a view of v): v is read after out is written")


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
