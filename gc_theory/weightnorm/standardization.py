r"""Weight standardisation [2]_: each unit's weight at mean 0 and standard deviation 1; its backward centralises.

References
----------
.. [2] S. Qiao, H. Wang, C. Liu, W. Shen, A. Yuille, "Micro-Batch Training
   with Batch-Channel Normalization and Weight Standardization",
   arXiv:1903.10520.
"""

from __future__ import annotations

from typing import Any



from ._units import _check_like, _first_index, _unit_layout, _unit_moments

__all__ = ['weight_standardization', 'weight_standardization_backward']


# --- weight standardisation -----------------------------------------------------------------


def _moments(w: Any, axis: int | None, name: str) -> tuple[Any, tuple[int, ...], Any, Any]:
    """(xp, axes, standardised w, sigma): scaled moments (:func:`._units._unit_moments`), so 1e-300 and 1e308 work."""
    xp, axes, _, _ = _unit_layout(w, axis, name)
    c, m, _, s = _unit_moments(xp, w, axes, name)
    if bool(xp.any(s == 0)):
        raise ValueError(f"{name} is constant on unit {_first_index(xp, s == 0)}: its standard deviation is 0, "
                         "nothing to standardise")
    return xp, axes, c / s, m * s


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

    Notes
    -----
    The moments are computed in two passes, the centred values corrected by
    their own mean, and on :math:`w/\max|w|` per unit wherever squaring would
    over- or underflow, so units at 1e-300 or 1e308 and near-constant units
    are standardised to a few :math:`\gamma_M` relative to their spread.

    Examples
    --------
    >>> import numpy as np
    >>> weight_standardization(np.array([[1e300, 3e300], [1.0, 1.0 + 2**-40]])).tolist()
    [[-1.0, 1.0], [-1.0, 1.0]]

    References
    ----------
    Qiao et al. 2019 [2]_, eq. 5 (no epsilon is added: a constant unit raises).
    """
    return _moments(w, axis, "w")[2]


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
    xp, axes, ws, std = _moments(w, axis, "w")
    _check_like(grad_ws, "grad_ws", w, "w", tuple(w.shape))
    return (grad_ws - xp.mean(grad_ws, axis=axes, keepdims=True)
            - ws * xp.mean(ws * grad_ws, axis=axes, keepdims=True)) / std
