r"""Binary logistic regression with per-example gradients (array API).

A stand-in for the shared problems package: mini-batch noise and stochastic
CG need a convex loss whose per-example gradients are cheap,

.. math::

    \ell_i(w) = \log(1 + e^{x_i^\top w}) - y_i x_i^\top w, \qquad
    \nabla \ell_i(w) = (\sigma(x_i^\top w) - y_i)\, x_i .
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["gaussian_classes", "grad", "loss", "per_example_gradients"]


def per_example_gradients(x: Any, y: Any, w: Any) -> Any:
    """Rows :math:`(\\sigma(x_i^\\top w) - y_i) x_i`, shape (N, P), in the namespace of `x`."""
    from .backend import array_namespace

    xp = array_namespace(x)
    z = x @ w
    residual = 1.0 / (1.0 + xp.exp(-z)) - y
    return residual[:, None] * x


def gaussian_classes(n: int, p: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """N points in P dimensions from two unit Gaussians whose means are 2 apart; labels in {0, 1} (host float64)."""
    y = (rng.random(n) < 0.5).astype(np.float64)
    shift = np.zeros(p)
    shift[0] = 1.0
    return rng.standard_normal((n, p)) + np.outer(2.0 * y - 1.0, shift), y


def loss(x: Any, y: Any, w: Any) -> Any:
    """The mean logistic loss, a 0-d array in the namespace of `x` (log(1 + e^z) computed stably)."""
    from .backend import array_namespace

    xp = array_namespace(x)
    z = x @ w
    return xp.mean(xp.maximum(z, 0.0) + xp.log1p(xp.exp(-xp.abs(z))) - y * z)


def grad(x: Any, y: Any, w: Any) -> Any:
    """The gradient of :func:`loss`: the mean of :func:`per_example_gradients`."""
    from .backend import array_namespace

    return array_namespace(x).mean(per_example_gradients(x, y, w), axis=0)
