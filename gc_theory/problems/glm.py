r"""Losses of a linear predictor, :math:`f(\theta) = \frac1n \sum_k \phi_k(x_k^\top \theta) + \frac{\lambda}{2}\|\theta\|^2`.

Every derivative is the chain rule through :math:`z = X\theta` with the scalar
derivatives :math:`\phi', \phi'', \phi'''` applied entrywise:

.. math::

    \nabla f = \tfrac1n X^\top \phi'(z) + \lambda\theta, \qquad
    \nabla^2 f\,v = \tfrac1n X^\top\big(\phi''(z) \odot Xv\big) + \lambda v, \qquad
    \nabla^3 f[u, v] = \tfrac1n X^\top\big(\phi'''(z) \odot Xu \odot Xv\big),

so the Hessian-vector product and the third-derivative contraction cost two
matrix-vector products each, and all four are exact. The per-example gradients
:math:`\phi_k'(z_k)\,x_k` (the rows whose mean is the data term of
:math:`\nabla f`) are what mini-batch noise is made of; :func:`gaussian_classes`
draws data for the logistic loss.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from gc_theory.core.validation import check_int, check_nonnegative
from gc_theory.core.backend import array_namespace

Link = Callable[[Any, Any], tuple[Any, Any, Any, Any]]

__all__ = ["LinearModelLoss", "gaussian_classes", "logistic_loss", "quartic_loss", "squared_loss", "tanh_loss"]


@dataclass(frozen=True)
class LinearModelLoss:
    r"""A loss of :math:`X\theta` with exact gradient, Hessian-vector product and third contraction.

    Parameters
    ----------
    X : array, shape (n, d)
        The design; its namespace and dtype are the problem's.
    y : array, shape (n,)
        Per-row data of the link: targets, labels or shifts.
    link : callable
        ``link(z, y) -> (phi, phi', phi'', phi''')`` entrywise at ``z = X @ theta``.
    ridge : float
        :math:`\lambda \ge 0`.
    name : str
        A label for reports.
    """

    X: Any
    y: Any
    link: Link
    ridge: float = 0.0
    name: str = "linear model loss"

    def value(self, theta: Any) -> Any:
        xp = array_namespace(theta)
        phi = self.link(self.X @ theta, self.y)[0]
        return xp.mean(phi) + 0.5 * self.ridge * xp.sum(theta * theta)

    def grad(self, theta: Any) -> Any:
        d1 = self.link(self.X @ theta, self.y)[1]
        return self.X.T @ d1 / self.X.shape[0] + self.ridge * theta

    def subset(self, rows: Any) -> LinearModelLoss:
        """The same loss on the examples `rows` only (an integer array of X's namespace): a mini-batch's problem."""
        xp = array_namespace(self.X)
        return replace(self, X=xp.take(self.X, rows, axis=0), y=xp.take(self.y, rows, axis=0))

    def per_example_grads(self, theta: Any) -> Any:
        r"""Rows :math:`\phi_k'(x_k^\top\theta)\,x_k`, shape (n, d): the data term's per-example gradients (no ridge)."""
        d1 = self.link(self.X @ theta, self.y)[1]
        return d1[:, None] * self.X

    def hvp(self, theta: Any, v: Any) -> Any:
        d2 = self.link(self.X @ theta, self.y)[2]
        return self.X.T @ (d2 * (self.X @ v)) / self.X.shape[0] + self.ridge * v

    def third(self, theta: Any, u: Any, v: Any) -> Any:
        d3 = self.link(self.X @ theta, self.y)[3]
        return self.X.T @ (d3 * (self.X @ u) * (self.X @ v)) / self.X.shape[0]


def squared_loss(X: Any, y: Any, ridge: float = 0.0) -> LinearModelLoss:
    r"""Least squares, :math:`\phi_k(z) = \frac12 (z - y_k)^2`; its third derivative vanishes."""
    check_nonnegative(ridge, "ridge")

    def link(z: Any, y: Any) -> tuple[Any, Any, Any, Any]:
        xp = array_namespace(z)
        r = z - y
        return 0.5 * r * r, r, xp.ones_like(z), xp.zeros_like(z)

    return LinearModelLoss(X, y, link, float(ridge), "least squares")


def logistic_loss(X: Any, y: Any, ridge: float = 0.0) -> LinearModelLoss:
    r"""Logistic regression with labels :math:`y_k = \pm 1`, :math:`\phi_k(z) = \log(1 + e^{-y_k z})`.

    Notes
    -----
    With :math:`m = y z` and :math:`s = \sigma(m)`: :math:`\phi' = -y(1 - s)`,
    :math:`\phi'' = s(1 - s)` and :math:`\phi''' = y\,s(1 - s)(1 - 2s)` (using :math:`y^2 = 1`).
    The value is evaluated as :math:`\max(-m, 0) + \log(1 + e^{-|m|})` and :math:`s` from
    :math:`e^{-|m|}`, so that no exponential overflows.
    """
    check_nonnegative(ridge, "ridge")

    def link(z: Any, y: Any) -> tuple[Any, Any, Any, Any]:
        xp = array_namespace(z)
        m = y * z
        e = xp.exp(-xp.abs(m))  # in (0, 1]: neither the value nor sigma(m) can overflow
        s = xp.where(m >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        value = xp.maximum(-m, xp.zeros_like(m)) + xp.log1p(e)
        d2 = s * (1.0 - s)
        return value, -y * (1.0 - s), d2, y * d2 * (1.0 - 2.0 * s)

    return LinearModelLoss(X, y, link, float(ridge), "logistic regression")


def tanh_loss(X: Any, y: Any) -> LinearModelLoss:
    r"""A one-unit tanh regression, :math:`\phi_k(z) = \frac12(\tanh z - y_k)^2` (nonconvex).

    Notes
    -----
    With :math:`t = \tanh z`, :math:`t' = 1 - t^2`, :math:`t'' = -2tt'`,
    :math:`t''' = -2t'^2 + 4t^2t'` and :math:`r = t - y`:
    :math:`\phi' = rt'`, :math:`\phi'' = t'^2 + rt''`, :math:`\phi''' = 3t't'' + rt'''`.
    """

    def link(z: Any, y: Any) -> tuple[Any, Any, Any, Any]:
        xp = array_namespace(z)
        t = xp.tanh(z)
        t1 = 1.0 - t * t
        t2 = -2.0 * t * t1
        t3 = -2.0 * t1 * t1 + 4.0 * t * t * t1
        r = t - y
        return 0.5 * r * r, r * t1, t1 * t1 + r * t2, 3.0 * t1 * t2 + r * t3

    return LinearModelLoss(X, y, link, 0.0, "tanh regression")


def quartic_loss(X: Any, shift: Any) -> LinearModelLoss:
    r"""A double well in every projection, :math:`\phi_k(z) = \frac14 (z - a_k)^4 - \frac12 (z - a_k)^2`.

    Nonconvex with curvature of both signs: :math:`\phi'' = 3r^2 - 1` with
    :math:`r = z - a_k`, and :math:`\phi''' = 6r`.
    """

    def link(z: Any, y: Any) -> tuple[Any, Any, Any, Any]:
        r = z - y
        r2 = r * r
        return 0.25 * r2 * r2 - 0.5 * r2, r2 * r - r, 3.0 * r2 - 1.0, 6.0 * r

    return LinearModelLoss(X, shift, link, 0.0, "quartic double well")


def gaussian_classes(n: int, p: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n points in p dimensions from two unit Gaussians whose means are 2 apart along the first axis; labels +-1.

    Host float64, for :func:`logistic_loss` (move them with ``xp.asarray``).
    """
    n = check_int(n, "n", minimum=1)
    p = check_int(p, "p", minimum=1)
    labels = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    shift = np.zeros(p)
    shift[0] = 1.0
    return rng.standard_normal((n, p)) + np.outer(labels, shift), labels
