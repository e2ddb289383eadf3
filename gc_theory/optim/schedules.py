r"""Learning-rate schedules: callables ``t -> eta_t`` of the number of completed steps.

Pass one as ``lr=`` to any optimiser; the step that starts after ``t``
completed steps uses ``lr(t)`` (so the first step uses ``lr(0) = eta_0``,
as torch's ``LambdaLR`` does). Any callable with that signature works; these
are the three in common use [1]_:

.. math::

    \eta_t = \eta_0\, 10^{-t/r}                            \quad\text{(tenfold\_decay)}

    \eta_t = \eta_0\, \rho^{\,t/s}                         \quad\text{(exponential\_decay)}

    \eta_t = \eta_0\, \gamma^{\lfloor t / s \rfloor}       \quad\text{(step\_decay)}

References
----------
.. [1] S. Ruder, "An overview of gradient descent optimization algorithms",
   arXiv:1609.04747, 2016, Sec. 3 (annealing schedules); A. Géron,
   *Hands-On Machine Learning*, 2nd ed., O'Reilly 2019, Ch. 11 (exponential
   scheduling :math:`\eta_0 0.1^{t/s}`); torch.optim.lr_scheduler.StepLR.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from gc_theory.core.validation import check_int, check_nonnegative, check_positive

__all__ = ["exponential_decay", "step_decay", "tenfold_decay"]


def _step(t: int) -> int:
    if isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 0:
        raise ValueError(f"a schedule's step t must be an integer >= 0, got {t!r}")
    return int(t)


@dataclass(frozen=True)
class ExponentialDecay:
    r""":math:`\eta_t = \eta_0 \rho^{t/s}` (or :math:`\rho^{\lfloor t/s\rfloor}` with `staircase`)."""

    lr0: float
    decay_rate: float
    decay_steps: float
    staircase: bool = False

    def __post_init__(self) -> None:
        check_nonnegative(self.lr0, "lr0")
        check_positive(self.decay_rate, "decay_rate")
        check_positive(self.decay_steps, "decay_steps")

    def __call__(self, t: int) -> float:
        k = _step(t) / self.decay_steps
        return self.lr0 * self.decay_rate ** (math.floor(k) if self.staircase else k)


def exponential_decay(lr0: float, decay_rate: float, decay_steps: float, staircase: bool = False) -> ExponentialDecay:
    r""":math:`\eta_t = \eta_0\,\rho^{t/s}`: the rate falls by `decay_rate` every `decay_steps` steps.

    Parameters
    ----------
    lr0 : float
        :math:`\eta_0 \ge 0`.
    decay_rate : float
        :math:`\rho > 0` (below 1 for a decay).
    decay_steps : float
        :math:`s > 0`.
    staircase : bool
        Use :math:`\lfloor t/s \rfloor`, a step decay by :math:`\rho`.
    """
    return ExponentialDecay(lr0, decay_rate, decay_steps, staircase)


def tenfold_decay(lr0: float, r: float) -> ExponentialDecay:
    r""":math:`\eta_t = \eta_0\, 10^{-t/r}`: the rate falls tenfold every `r` steps."""
    check_positive(r, "r")
    return ExponentialDecay(lr0, 0.1, r)


@dataclass(frozen=True)
class StepDecay:
    r""":math:`\eta_t = \eta_0 \gamma^{\lfloor t/s \rfloor}` (torch's StepLR)."""

    lr0: float
    step_size: int
    gamma: float = 0.1

    def __post_init__(self) -> None:
        check_nonnegative(self.lr0, "lr0")
        check_int(self.step_size, "step_size", minimum=1)
        check_nonnegative(self.gamma, "gamma")

    def __call__(self, t: int) -> float:
        return self.lr0 * self.gamma ** (_step(t) // self.step_size)


def step_decay(lr0: float, step_size: int, gamma: float = 0.1) -> StepDecay:
    r""":math:`\eta_t = \eta_0\,\gamma^{\lfloor t/s \rfloor}`: multiply by `gamma` every `step_size` steps."""
    return StepDecay(lr0, step_size, gamma)
