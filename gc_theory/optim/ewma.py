r"""The exponentially weighted moving average, with and without bias correction.

Every momentum method and every adaptive method is built on

.. math:: v_t = \beta v_{t-1} + (1 - \beta)\, x_t, \qquad v_0 = 0,

which weights :math:`x_{t-k}` by :math:`(1-\beta)\beta^k`. The weights of
:math:`x_1, \dots, x_t` sum to :math:`1 - \beta^t`, so :math:`v_t` is biased
towards the zero it started from; Adam's bias correction [1]_ divides it out:

.. math:: \hat v_t = \frac{v_t}{1 - \beta^t} .

On a constant sequence :math:`x_t = c` the corrected average is exactly
:math:`c` at every :math:`t`, and the uncorrected one is :math:`(1-\beta^t)c`
(claim ``optim.ewma.unbiased``).

References
----------
.. [1] D. P. Kingma, J. Ba, "Adam: A Method for Stochastic Optimization",
   ICLR 2015, Sec. 3 (initialization bias correction).
.. [2] S. Ruder, "An overview of gradient descent optimization algorithms",
   arXiv:1609.04747, 2016, Sec. 4.4-4.6 (decaying averages E[g^2]_t, m_t, v_t).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gc_theory.core.validation import check_bool, check_floating, check_unit_interval

__all__ = ["EWMA", "ewma"]


@dataclass(frozen=True)
class EWMA:
    """A moving average as a pair of pure functions: ``init(like)`` and ``update(state, x)``.

    Parameters
    ----------
    beta : float
        Decay :math:`\\beta \\in [0, 1)`.
    bias_correction : bool
        Whether :meth:`value` divides by :math:`1 - \\beta^t`.

    Examples
    --------
    >>> import numpy as np
    >>> avg = EWMA(0.9)
    >>> s = avg.init(np.zeros(2))
    >>> for _ in range(3):
    ...     s = avg.update(s, np.array([1.0, 2.0]))
    >>> avg.value(s)
    array([1., 2.])
    """

    beta: float
    bias_correction: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "beta", check_unit_interval(self.beta, "beta"))
        object.__setattr__(self, "bias_correction", check_bool(self.bias_correction, "bias_correction"))

    def init(self, like: Any) -> dict[str, Any]:
        """State before any observation: :math:`v_0 = 0` shaped like `like`, t = 0."""
        xp = check_floating(like, "like")
        return {"step": 0, "avg": xp.zeros_like(like)}

    def update(self, state: dict[str, Any], x: Any) -> dict[str, Any]:
        """A new state after observing `x`; `state` is not modified."""
        avg = state["avg"]
        check_floating(x, "x")
        if tuple(x.shape) != tuple(avg.shape):
            raise ValueError(f"x has shape {tuple(x.shape)} but the average has shape {tuple(avg.shape)}")
        return {"step": state["step"] + 1, "avg": self.beta * avg + (1.0 - self.beta) * x}

    def value(self, state: dict[str, Any]) -> Any:
        """:math:`\\hat v_t` with bias correction, else :math:`v_t` (a new array)."""
        t, avg = state["step"], state["avg"]
        if not self.bias_correction:
            return avg * 1.0
        if t == 0:
            raise ValueError("a bias-corrected average needs at least one observation (1 - beta^0 = 0)")
        return avg / (1.0 - self.beta**t)


