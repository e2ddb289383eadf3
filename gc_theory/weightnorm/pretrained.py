r"""Weight Normalization applied to a trained weight: :math:`v = w`, :math:`g = \|w\|` per unit.

The reparameterisation :math:`w = g\,v/\|v\|` is onto: every weight whose units
are non-zero is reached, by :math:`v = w` and :math:`g = \|w\|` (or any
:math:`v = c\,w`, :math:`c > 0`). A pretrained layer therefore converts to
Weight Normalization without changing its function, and the converted layer
has exactly one parameter more per output unit (its g): WN neither removes a
parameter nor enlarges the set of functions a layer can compute.
"""

from __future__ import annotations

from typing import Any

from gc_theory.core.validation import normalize_axes
from gc_theory.weightnorm._units import _unit_layout, unit_norms

__all__ = ["from_pretrained", "extra_parameters"]


def from_pretrained(w: Any, axis: int | None = 0) -> tuple[Any, Any]:
    r"""The WN parameters ``(v, g)`` of a trained weight `w`: :math:`v = w`, :math:`g_j = \|w_j\|`.

    Parameters
    ----------
    w : array
        A trained weight, output axis first by default, e.g. ``(out, in)`` or
        ``(out, in, kh, kw)``; real floating, finite, no unit of norm 0.
    axis : int or None, default 0
        The output-unit axis (None: one g for the whole tensor).

    Returns
    -------
    v : array
        A copy of `w` (so training v leaves the pretrained array alone).
    g : array
        The norm of each unit, shape ``(w.shape[axis],)`` (0-d for ``axis=None``).

    Raises
    ------
    TypeError
        A non-floating `w`, or an `axis` that is not an integer or None.
    ValueError
        A 0-d `w`, NaN or Inf, an axis out of range, or a unit of norm 0 (its
        direction is undefined, so no g and v reproduce it through
        :math:`v/\|v\|`).

    Notes
    -----
    With :math:`v = w` and :math:`g = \|w\|`,

    .. math:: g\,\frac{v}{\|v\|} = \|w\|\,\frac{w}{\|w\|} = w,

    so the converted layer computes the pretrained function. In floating point
    both norms are the same computed number :math:`\widehat{\|w\|}` and each
    entry of the reconstructed weight is :math:`\mathrm{fl}(\mathrm{fl}(w/n)\,n)`,
    within :math:`\gamma_2|w|` of w (two roundings).

    References
    ----------
    .. [1] T. Salimans and D. P. Kingma, "Weight Normalization", NeurIPS 2016, Sec. 2.

    Examples
    --------
    >>> import numpy as np
    >>> from gc_theory.weightnorm import weight_norm
    >>> w = np.array([[3.0, 4.0], [0.0, -2.0]])
    >>> v, g = from_pretrained(w)
    >>> g.tolist()
    [5.0, 2.0]
    >>> weight_norm(v, g).tolist() == w.tolist()
    True
    """
    xp, _, g_shape, _ = _unit_layout(w, axis, "w")
    try:
        norms = unit_norms(w, axis)
    except ValueError as exc:  # a zero unit: say it of w, the array the caller passed
        raise ValueError(str(exc).replace("v has zero norm", "w has zero norm", 1)) from exc
    g = xp.reshape(norms, g_shape)
    return xp.asarray(w, copy=True), g


def extra_parameters(shape: tuple[int, ...], axis: int | None = 0) -> int:
    """How many parameters WN adds to a weight of `shape`: one g per output unit (1 for ``axis=None``).

    Parameters
    ----------
    shape : tuple of int
        The weight's shape.
    axis : int or None, default 0
        The output-unit axis.

    Returns
    -------
    int
        ``shape[axis]``, or 1 when `axis` is None.

    Examples
    --------
    >>> extra_parameters((32, 16, 3, 3))
    32
    """
    shape = tuple(int(s) for s in shape)
    if axis is None:
        return 1
    (a,) = normalize_axes(axis, len(shape))
    return shape[a]
