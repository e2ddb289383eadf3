r"""Gradient clipping by global norm and by value, as pure functions of a gradient dict.

Both take and return a dict of arrays (any array-API backend) and never modify
their input, so they compose with any optimiser of :mod:`gc_theory.optim`:
``params, state = opt.step(params, clip_grad_norm(grads, 1.0)[0], state)``.
Clipping is applied to the raw gradient, before any GC placement of the
optimiser (torch users clip before ``optimizer.step()`` in the same way).
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace

from ..core.validation import check_choice, check_nonnegative, check_positive

__all__ = ["clip_grad_norm", "clip_grad_value"]

#: Added to the total norm before dividing, as ``torch.nn.utils.clip_grad_norm_`` does.
CLIP_EPS = 1e-6


def _check_grads(grads: Any) -> dict:
    if not isinstance(grads, dict) or not grads:
        raise TypeError(f"grads must be a non-empty dict of arrays, got {type(grads).__name__}")
    return grads


def clip_grad_norm(grads: dict, max_norm: float, norm_type: float = 2.0) -> tuple[dict, float]:
    r"""Scale all gradients together so that their global norm is at most ``max_norm``.

    Parameters
    ----------
    grads : dict of str to array
        Gradients, one array per parameter.
    max_norm : float
        Largest allowed global norm, > 0.
    norm_type : {2.0, inf}
        The norm: Euclidean over all entries, or the largest absolute entry.

    Returns
    -------
    clipped : dict of str to array
        New arrays :math:`g \cdot \min(1, c / (\lVert g \rVert + 10^{-6}))`.
    total_norm : float
        The global norm :math:`\lVert g \rVert` before clipping.

    Notes
    -----
    With :math:`\lVert g \rVert_2 = (\sum_p \lVert g_p \rVert_2^2)^{1/2}` over all
    parameters :math:`p`, every gradient is multiplied by the same factor
    :math:`\min(1, c/(\lVert g\rVert + \epsilon))`, :math:`\epsilon = 10^{-6}`, so
    the direction of the full gradient is kept (the PyTorch rule, torch.optim name
    ``torch.nn.utils.clip_grad_norm_``).

    References
    ----------
    .. [1] R. Pascanu, T. Mikolov, Y. Bengio, "On the difficulty of training
       recurrent neural networks", ICML 2013.

    Examples
    --------
    >>> import numpy as np
    >>> g, n = clip_grad_norm({"w": np.array([3.0, 4.0])}, 1.0)
    >>> round(n, 12), np.round(g["w"], 6).tolist()
    (5.0, [0.6, 0.8])
    """
    _check_grads(grads)
    max_norm = check_positive(max_norm, "max_norm")
    norm_type = float(check_choice(float(norm_type), "norm_type", (2.0, float("inf"))))
    xp = array_namespace(*grads.values())
    if norm_type == 2.0:
        total = sum(float(xp.sum(g * g)) for g in grads.values()) ** 0.5
    else:
        total = max(float(xp.max(xp.abs(g))) if g.size else 0.0 for g in grads.values())
    coef = min(1.0, max_norm / (total + CLIP_EPS))
    return {k: g * coef for k, g in grads.items()}, total


def clip_grad_value(grads: dict, clip_value: float) -> dict:
    r"""Clamp every gradient entry to ``[-clip_value, clip_value]``.

    Parameters
    ----------
    grads : dict of str to array
        Gradients, one array per parameter.
    clip_value : float
        Bound, >= 0.

    Returns
    -------
    dict of str to array
        New arrays :math:`\max(-c, \min(c, g))` entrywise (torch name
        ``torch.nn.utils.clip_grad_value_``); the direction is not kept.

    Examples
    --------
    >>> import numpy as np
    >>> clip_grad_value({"w": np.array([-3.0, 0.5, 2.0])}, 1.0)["w"].tolist()
    [-1.0, 0.5, 1.0]
    """
    _check_grads(grads)
    c = check_nonnegative(clip_value, "clip_value")
    xp = array_namespace(*grads.values())
    return {k: xp.clip(g, -c, c) for k, g in grads.items()}
