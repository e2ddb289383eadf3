r"""Losses with analytic gradients: softmax cross-entropy (via log-sum-exp), mean squared error, and the
two losses of a sigmoid output unit (squared error of :math:`\sigma(z)`, binary cross-entropy on logits).

A loss is an object with ``forward(outputs, targets) -> (value, cache)``, the
value a 0-d array of the outputs' namespace, and ``backward(cache) -> d value/d outputs``.

References
----------
.. [1] N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM, 2002, Sec. 3.1.
.. [2] P. Blanchard, D. J. Higham, N. J. Higham, "Accurately computing the log-sum-exp and softmax
   functions", IMA J. Numer. Anal. 41 (2021).
.. [3] X. Glorot and Y. Bengio, "Understanding the difficulty of training deep feedforward neural
   networks", AISTATS 2010, Sec. 4.2 (squared error against cross-entropy at a sigmoid output).
"""

from __future__ import annotations

import math
from typing import Any

from gc_theory.core.backend import array_namespace, dtype_name, is_array
from gc_theory.verify.tolerances import gamma
from ._checks import check_input
from .layers import LIBM_ULPS, Sigmoid

__all__ = ["Loss", "MeanSquaredError", "SigmoidCrossEntropy", "SigmoidMeanSquaredError", "SoftmaxCrossEntropy", "logsumexp"]


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


def _check_pair(outputs: Any, targets: Any, outputs_name: str) -> Any:
    xp = check_input(outputs, outputs_name, None, what="(batch, ...)")
    check_input(targets, "targets", outputs.ndim, what=f"(the shape of the {outputs_name})", dtype=outputs.dtype)
    if tuple(targets.shape) != tuple(outputs.shape):
        raise ValueError(f"targets must have the {outputs_name}' shape {tuple(outputs.shape)}, got {tuple(targets.shape)}")
    if math.prod(outputs.shape) == 0:
        raise ValueError(f"the batch is empty: {outputs_name} need at least one entry")
    return xp


class SigmoidMeanSquaredError(Loss):
    r"""Squared error of a sigmoid output, :math:`\frac1N\sum_j (\sigma(z_j) - t_j)^2`, as a loss of the pre-activations z.

    The composition :class:`~gc_theory.models.Sigmoid` then :class:`MeanSquaredError`,
    and its backward is theirs chained (nothing fused), so that the closed form
    below is a statement about the layers, not a restatement of this code.

    Notes
    -----
    .. math::

        \frac{\partial L}{\partial z_j} = \frac{2}{N}\,(\sigma(z_j) - t_j)\,\sigma'(z_j),
        \qquad \sigma' = \sigma(1 - \sigma) \le \tfrac14 ,

    which vanishes when the unit saturates (:math:`|z| \to \infty`), whether or
    not it saturated on the right answer. Rounding: the sigmoid's bound (it is
    1/4-Lipschitz, plus a few ulps of 1) feeds :class:`MeanSquaredError`'s.
    """

    def __init__(self) -> None:
        self._sigmoid, self._mse = Sigmoid(), MeanSquaredError()

    def forward(self, logits: Any, targets: Any) -> tuple[Any, Any]:
        _check_pair(logits, targets, "logits")
        s, s_cache = self._sigmoid.forward({}, logits)
        value, m_cache = self._mse.forward(s, targets)
        return value, (s_cache, m_cache)

    def backward(self, cache: Any) -> Any:
        s_cache, m_cache = cache
        return self._sigmoid.backward({}, s_cache, self._mse.backward(m_cache))[0]

    def error_bound(self, outputs_abs: Any, err: Any, targets: Any, value: Any) -> float:
        s_abs, s_err = self._sigmoid.error_bound({}, outputs_abs, err)
        return self._mse.error_bound(s_abs, s_err, targets, value)


class SigmoidCrossEntropy(Loss):
    r"""Binary cross-entropy on logits, :math:`\frac1N\sum_j \bigl(\log(1 + e^{z_j}) - t_j z_j\bigr)`.

    The same loss as ``torch.nn.functional.binary_cross_entropy_with_logits``:
    :math:`-t\log\sigma(z) - (1 - t)\log(1 - \sigma(z))` written without the
    sigmoid, as :math:`\max(z, 0) + \log(1 + e^{-|z|}) - tz`, so that no
    exponential overflows and no logarithm sees 0. Targets are usually
    probabilities in [0, 1]; like torch, any real target is accepted (the
    formula and its gradient hold for every t).

    Notes
    -----
    .. math::

        \frac{\partial L}{\partial z_j} = \frac{\sigma(z_j) - t_j}{N},

    which stays of order one when the unit saturates on the wrong answer.
    Rounding: :math:`|\partial \ell_j/\partial z_j| = |\sigma - t| \le 1 + |t_j|`,
    so an error ``err`` in z moves L by at most :math:`\frac1N\sum_j (1 + |t_j|)\,\mathrm{err}_j`;
    each term :math:`|\ell_j| \le |z_j|(1 + |t_j|) + \log 2` is computed with
    two library calls (exp, log1p: :math:`2 \cdot` LIBM_ULPS ulps), a product and
    three sums, and the mean adds :math:`\gamma_N`, so the evaluation adds at most
    :math:`\gamma_{N + 2\,\mathrm{LIBM\_ULPS} + 4}\,\frac1N\sum_j (|z_j|(1 + |t_j|) + 1)`.
    """

    def forward(self, logits: Any, targets: Any) -> tuple[Any, Any]:
        xp = _check_pair(logits, targets, "logits")
        e = xp.exp(-xp.abs(logits))  # in (0, 1]: neither softplus nor sigma can overflow
        softplus = xp.maximum(logits, xp.zeros_like(logits)) + xp.log1p(e)
        probs = xp.where(logits >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return xp.mean(softplus - targets * logits), (probs, targets)

    def backward(self, cache: Any) -> Any:
        probs, targets = cache
        return (probs - targets) / math.prod(probs.shape)

    def error_bound(self, outputs_abs: Any, err: Any, targets: Any, value: Any) -> float:
        xp = array_namespace(outputs_abs)
        size = math.prod(outputs_abs.shape)
        weight = 1.0 + xp.abs(targets)
        first = xp.mean(weight * err)
        return float(first) + gamma(size + 2 * LIBM_ULPS + 4, err.dtype) * float(xp.mean(outputs_abs * weight + 1.0))
