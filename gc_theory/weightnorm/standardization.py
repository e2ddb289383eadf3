r"""Weight standardisation [2]_: each unit's weight at mean 0 and standard deviation 1; its backward centralises.

References
----------
.. [2] S. Qiao, H. Wang, C. Liu, W. Shen, A. Yuille, "Micro-Batch Training
   with Batch-Channel Normalization and Weight Standardization",
   arXiv:1903.10520.
"""

from __future__ import annotations

from typing import Any



from ._units import _check_like, _unit_layout

__all__ = ['weight_standardization', 'weight_standardization_backward']


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
