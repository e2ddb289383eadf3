r"""The per-unit batch statistics of mean-only and full batch normalisation, and their backward passes.

Mean-only batch norm (Sec. 2.1 of [1]_) subtracts each unit's batch mean; its
backward is GC over the batch. Full batch norm [3]_ also divides by the batch
standard deviation. The layers of :mod:`gc_theory.models.normalization` call
these functions.

References
----------
.. [1] T. Salimans, D. P. Kingma, "Weight Normalization: A Simple
   Reparameterization to Accelerate Training of Deep Neural Networks",
   NeurIPS 2016, arXiv:1602.07868.
.. [3] S. Ioffe, C. Szegedy, "Batch Normalization", ICML 2015, Alg. 1.
"""

from __future__ import annotations

from typing import Any


from gc_theory.core.validation import check_finite_floating, check_real

__all__ = ['batch_norm', 'batch_norm_backward', 'mean_only_batch_norm', 'mean_only_batch_norm_backward']


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
