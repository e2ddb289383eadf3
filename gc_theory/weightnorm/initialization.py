r"""Data-dependent initialisation (Sec. 3 of [1]_): g and b that give each unit's pre-activation mean 0 and a chosen spread.

References
----------
.. [1] T. Salimans, D. P. Kingma, "Weight Normalization: A Simple
   Reparameterization to Accelerate Training of Deep Neural Networks",
   NeurIPS 2016, arXiv:1602.07868.
"""

from __future__ import annotations

import warnings
from typing import Any


from gc_theory.core.backend import dtype_name
from gc_theory.core.validation import check_finite_floating, check_positive, normalize_axes

from ._units import _unit_layout, unit_norms

__all__ = ['data_dependent_init', 'data_dependent_init_raw_sigma', 'init_from_preactivations']


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
