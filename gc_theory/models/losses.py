r"""Losses with analytic gradients: softmax cross-entropy (via log-sum-exp) and mean squared error.

A loss is an object with ``forward(outputs, targets) -> (value, cache)``, the
value a 0-d array of the outputs' namespace, and ``backward(cache) -> d value/d outputs``.

References
----------
.. [1] N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM, 2002, Sec. 3.1.
.. [2] P. Blanchard, D. J. Higham, N. J. Higham, "Accurately computing the log-sum-exp and softmax
   functions", IMA J. Numer. Anal. 41 (2021).
"""

from __future__ import annotations

import math
from typing import Any

from ..backend import array_namespace, dtype_name, is_array
from ..tolerances import gamma
from ._checks import check_input

__all__ = ["Loss", "MeanSquaredError", "SoftmaxCrossEntropy", "logsumexp"]


def logsumexp(z: Any, axis: int = -1) -> Any:
    r""":math:`\log \sum_j e^{z_j}` along `axis`, computed as :math:`m + \log\sum_j e^{z_j - m}`, m = max z.

    Shifting by the maximum keeps every exponential in (0, 1], so nothing
    overflows and at least one term is exactly 1 (no underflow to log 0).
    """
    xp = array_namespace(z)
    m = xp.max(z, axis=axis, keepdims=True)
    return xp.squeeze(m, axis=axis) + xp.log(xp.sum(xp.exp(z - m), axis=axis))


class Loss:
    """Base class of the losses."""

    def forward(self, outputs: Any, targets: Any) -> tuple[Any, Any]:
        raise NotImplementedError

    def backward(self, cache: Any) -> Any:
        raise NotImplementedError

    def error_bound(self, outputs_abs: Any, err: Any, targets: Any, value: Any) -> float:
        """Bound on the rounding error of the loss value, given bounds on |outputs| and their error."""
        raise NotImplementedError

    def __call__(self, outputs: Any, targets: Any) -> Any:
        return self.forward(outputs, targets)[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SoftmaxCrossEntropy(Loss):
    r"""Mean over the batch of :math:`-\log \mathrm{softmax}(z_i)_{y_i}` for logits (n, k) and labels (n,).

    Notes
    -----
    With :math:`p_i = \mathrm{softmax}(z_i)`,

    .. math::

        L = \frac1n \sum_i \bigl(\mathrm{lse}(z_i) - z_{i, y_i}\bigr), \qquad
        \frac{\partial L}{\partial z_i} = \frac{p_i - \mathbf{1}_{y_i}}{n}.

    Rounding: :math:`\partial \ell_i/\partial z_i = p_i - \mathbf 1_{y_i}` has
    1-norm at most 2, so an error ``err`` in the logits moves each
    :math:`\ell_i` by at most :math:`2\max_j \mathrm{err}_{ij}`; the shifted
    log-sum-exp itself adds at most :math:`\gamma_{k+4}(2\max_j|z_{ij}| + \log k + 1)`
    (the subtraction, k library exponentials, the sum, the log), and the mean
    :math:`\gamma_n` times the mean loss.
    """

    def _check(self, logits: Any, labels: Any) -> Any:
        xp = check_input(logits, "logits", 2, what="(batch, classes)")
        if not is_array(labels):
            raise TypeError(f"labels must be an array of class indices, got {type(labels).__name__}")
        if not xp.isdtype(labels.dtype, "integral"):
            raise TypeError(f"labels must have an integer dtype (class indices), got {dtype_name(labels.dtype)}")
        if tuple(labels.shape) != (logits.shape[0],):
            raise ValueError(f"labels must have shape ({logits.shape[0]},) to match logits {tuple(logits.shape)}, got {tuple(labels.shape)}")
        k = logits.shape[1]
        if labels.shape[0] and (int(xp.min(labels)) < 0 or int(xp.max(labels)) >= k):
            raise ValueError(f"labels must lie in [0, {k}) for {k} classes, got values in [{int(xp.min(labels))}, {int(xp.max(labels))}]")
        if labels.shape[0] == 0:
            raise ValueError("the batch is empty: logits and labels need at least one sample")
        return xp

    def one_hot(self, labels: Any, k: int, dtype: Any) -> Any:
        xp = array_namespace(labels)
        return xp.astype(labels[:, None] == xp.arange(k, dtype=labels.dtype)[None, :], dtype)

    def forward(self, logits: Any, labels: Any) -> tuple[Any, Any]:
        xp = self._check(logits, labels)
        n, k = logits.shape
        onehot = self.one_hot(labels, k, logits.dtype)
        lse = logsumexp(logits, axis=1)
        picked = xp.sum(logits * onehot, axis=1)
        value = xp.mean(lse - picked)
        probs = xp.exp(logits - lse[:, None])
        return value, (probs, onehot, n)

    def backward(self, cache: Any) -> Any:
        probs, onehot, n = cache
        return (probs - onehot) / n

    def error_bound(self, outputs_abs: Any, err: Any, targets: Any, value: Any) -> float:
        xp = array_namespace(outputs_abs)
        n, k = outputs_abs.shape
        per_sample = 2 * xp.max(err, axis=1) + gamma(k + 4, err.dtype) * (2 * xp.max(outputs_abs, axis=1) + math.log(k) + 1)
        return float(xp.mean(per_sample)) + gamma(n, err.dtype) * abs(float(value))


class MeanSquaredError(Loss):
    r"""Mean over every entry of :math:`(y - t)^2`, for outputs and targets of one shape.

    Notes
    -----
    .. math::

        L = \frac1N \sum_j (y_j - t_j)^2, \qquad \frac{\partial L}{\partial y} = \frac{2 (y - t)}{N}.

    (No factor 1/2, as in ``torch.nn.functional.mse_loss``.) Rounding: an error
    ``err`` in y moves L by at most :math:`\frac1N\sum_j 2|y_j - t_j|\,\mathrm{err}_j`
    to first order; the difference, square and mean add at most
    :math:`\gamma_{N+3}\,\frac1N\sum_j (|y_j| + |t_j|)^2`.
    """

    def forward(self, outputs: Any, targets: Any) -> tuple[Any, Any]:
        xp = check_input(outputs, "outputs", None, what="(batch, ...)")
        check_input(targets, "targets", outputs.ndim, what="(the shape of the outputs)", dtype=outputs.dtype)
        if tuple(targets.shape) != tuple(outputs.shape):
            raise ValueError(f"targets must have the outputs' shape {tuple(outputs.shape)}, got {tuple(targets.shape)}")
        if math.prod(outputs.shape) == 0:
            raise ValueError("the batch is empty: outputs need at least one entry")
        diff = outputs - targets
        return xp.mean(diff * diff), diff

    def backward(self, cache: Any) -> Any:
        diff = cache
        return (2.0 / math.prod(diff.shape)) * diff

    def error_bound(self, outputs_abs: Any, err: Any, targets: Any, value: Any) -> float:
        xp = array_namespace(outputs_abs)
        size = math.prod(outputs_abs.shape)
        t_abs = xp.abs(targets)
        first = 2 * xp.mean((outputs_abs + t_abs) * err)
        return float(first) + gamma(size + 3, err.dtype) * float(xp.mean((outputs_abs + t_abs) ** 2))
