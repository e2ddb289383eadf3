r"""A one-hidden-layer tanh network with softmax cross-entropy, as a problem of its flat parameter vector.

.. math::

    a = XW_1 + b_1,\quad z = \tanh a,\quad o = zW_2 + b_2,\quad
    L(\theta) = \frac1n\sum_k \Bigl(\log\sum_c e^{o_{kc}} - o_{k y_k}\Bigr),

:math:`\theta = (W_1, b_1, W_2, b_2)` flattened in that order. The gradient is
backpropagation written out; the Hessian-vector product is Pearlmutter's
R-operator, :math:`\mathcal R_v\{\cdot\} = \frac{d}{dr}(\cdot)(\theta + rv)|_{r=0}`,
pushed through the same forward and backward passes, so it is exact and costs
about two gradients. Written against the array API (any namespace of theta).

The digits experiment of implicit gradient regularisation that trains it is
:mod:`gc_theory.experiments.igr`.

References
----------
.. [1] B. A. Pearlmutter, "Fast Exact Multiplication by the Hessian", Neural Computation 6(1), 1994.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gc_theory.core.validation import check_int, check_seed
from gc_theory.core.backend import array_namespace

__all__ = ["TanhMLP"]


class TanhMLP:
    r"""Softmax cross-entropy of a tanh MLP on fixed data; ``value``, ``grad``, ``hvp`` of the flat theta.

    Parameters
    ----------
    x : array, shape (n, d)
        Inputs; their namespace and dtype are the problem's.
    y : array of int, shape (n,)
        Labels in ``range(n_classes)``.
    hidden : int
        Width of the hidden layer.
    n_classes : int
        Number of classes.

    Notes
    -----
    With :math:`\delta_o = (\mathrm{softmax}(o) - Y)/n` (Y one-hot) and
    :math:`\delta_a = \delta_oW_2^\top \odot (1 - z^2)`:
    :math:`\nabla_{W_2} = z^\top\delta_o`, :math:`\nabla_{W_1} = X^\top\delta_a`, the
    biases the column sums. The R-operator along :math:`v = (V_1, c_1, V_2, c_2)`:

    .. math::

        \mathcal R a = XV_1 + c_1,\quad \mathcal R z = (1 - z^2)\odot\mathcal R a,\quad
        \mathcal R o = \mathcal R z\,W_2 + zV_2 + c_2,\\
        \mathcal R\delta_o = p\odot(\mathcal R o - \langle p, \mathcal R o\rangle)/n,\quad
        \mathcal R\delta_a = (\mathcal R\delta_o W_2^\top + \delta_o V_2^\top)\odot(1 - z^2)
            - 2\,\delta_oW_2^\top\odot z\odot\mathcal R z,

    and :math:`Hv = (X^\top\mathcal R\delta_a,\ \textstyle\sum\mathcal R\delta_a,\
    \mathcal R z^\top\delta_o + z^\top\mathcal R\delta_o,\ \sum\mathcal R\delta_o)`.
    """

    def __init__(self, x: Any, y: Any, hidden: int = 16, n_classes: int = 10) -> None:
        xp = array_namespace(x)
        if x.ndim != 2:
            raise ValueError(f"x must be 2-d (n, d), got shape {tuple(x.shape)}")
        self.hidden = check_int(hidden, "hidden", minimum=1)
        self.n_classes = check_int(n_classes, "n_classes", minimum=2)
        labels = np.asarray(y)
        if labels.shape != (x.shape[0],) or labels.min() < 0 or labels.max() >= self.n_classes:
            raise ValueError(f"y must hold {x.shape[0]} labels in range({self.n_classes}), got shape {labels.shape}")
        self.x, self.xp = x, xp
        self.onehot = xp.asarray(np.eye(self.n_classes)[labels], dtype=x.dtype)
        d, k, c = x.shape[1], self.hidden, self.n_classes
        self.shapes = ((d, k), (k,), (k, c), (c,))
        self.dim = d * k + k + k * c + c

    def init(self, seed: int = 0) -> Any:
        """A flat theta: weights Gaussian with variance 1/fan-in (LeCun), biases zero."""
        rng = np.random.default_rng(check_seed(seed))
        (d, k), _, (_, c), _ = self.shapes
        parts = (rng.standard_normal(d * k) / np.sqrt(d), np.zeros(k), rng.standard_normal(k * c) / np.sqrt(k),
                 np.zeros(c))
        return self.xp.asarray(np.concatenate(parts), dtype=self.x.dtype)

    def unflatten(self, theta: Any) -> tuple[Any, Any, Any, Any]:
        """(W1, b1, W2, b2) as views of theta."""
        xp = self.xp
        if theta.shape != (self.dim,):
            raise ValueError(f"theta must have shape ({self.dim},), got {tuple(theta.shape)}")
        out, start = [], 0
        for shape in self.shapes:
            size = int(np.prod(shape))
            out.append(xp.reshape(theta[start:start + size], shape))
            start += size
        return tuple(out)

    def _flatten(self, parts: tuple[Any, ...]) -> Any:
        return self.xp.concat([self.xp.reshape(p, (-1,)) for p in parts])

    def _forward(self, theta: Any, x: Any) -> tuple[Any, Any, Any]:
        xp = self.xp
        w1, b1, w2, b2 = self.unflatten(theta)
        z = xp.tanh(x @ w1 + b1)
        o = z @ w2 + b2
        shifted = o - xp.max(o, axis=1, keepdims=True)
        e = xp.exp(shifted)
        p = e / xp.sum(e, axis=1, keepdims=True)
        return z, shifted, p

    def logits(self, theta: Any, x: Any) -> Any:
        """The network's outputs o on inputs x (any rows)."""
        w1, b1, w2, b2 = self.unflatten(theta)
        return self.xp.tanh(x @ w1 + b1) @ w2 + b2

    def loss_on(self, theta: Any, x: Any, onehot: Any) -> float:
        """Mean cross-entropy on other data (a test set), one-hot labels."""
        xp = self.xp
        o = self.logits(theta, x)
        m = xp.max(o, axis=1, keepdims=True)
        lse = xp.log(xp.sum(xp.exp(o - m), axis=1)) + m[:, 0]
        return float(xp.mean(lse - xp.sum(o * onehot, axis=1)))

    def value(self, theta: Any) -> float:
        return self.loss_on(theta, self.x, self.onehot)

    def grad(self, theta: Any) -> Any:
        _, _, w2, _ = self.unflatten(theta)
        z, _, p = self._forward(theta, self.x)
        d_o = (p - self.onehot) / self.x.shape[0]
        d_a = (d_o @ w2.T) * (1.0 - z * z)
        xp = self.xp
        return self._flatten((self.x.T @ d_a, xp.sum(d_a, axis=0), z.T @ d_o, xp.sum(d_o, axis=0)))

    def hvp(self, theta: Any, v: Any) -> Any:
        xp = self.xp
        _, _, w2, _ = self.unflatten(theta)
        v1, c1, v2, c2 = self.unflatten(v)
        z, _, p = self._forward(theta, self.x)
        n = self.x.shape[0]
        d_o = (p - self.onehot) / n
        slope = 1.0 - z * z
        r_z = slope * (self.x @ v1 + c1)
        r_o = r_z @ w2 + z @ v2 + c2
        r_do = p * (r_o - xp.sum(p * r_o, axis=1, keepdims=True)) / n
        back = d_o @ w2.T
        r_da = (r_do @ w2.T + d_o @ v2.T) * slope - 2.0 * back * z * r_z
        return self._flatten((self.x.T @ r_da, xp.sum(r_da, axis=0), r_z.T @ d_o + z.T @ r_do, xp.sum(r_do, axis=0)))

    def accuracy(self, theta: Any, x: Any, labels: Any) -> float:
        """Fraction of rows of x whose largest output is the label."""
        xp = self.xp
        return float(xp.mean(xp.astype(xp.argmax(self.logits(theta, x), axis=1) == labels, xp.float64)))
