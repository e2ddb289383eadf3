r"""Modified and explicitly regularised losses, as problems (NumPy, host only).

Gradient descent with step h follows, to first order in h, the gradient flow of

.. math::

    \tilde L_h = L + \frac{h}{4}\|\nabla L\|^2,

and adding :math:`\mu\|\nabla L\|^2` on purpose is explicit gradient
regularisation. Both are returned as problems (``value``, ``grad``, ``hvp``,
and ``third`` where the base problem allows), so every tool that takes a
problem takes them.

References
----------
.. [1] D. G. T. Barrett and B. Dherin, "Implicit Gradient Regularization", ICLR 2021, Sec. 3-4.
.. [2] S. L. Smith, B. Dherin, D. G. T. Barrett, S. De, "On the Origin of Implicit Regularization in
   Stochastic Gradient Descent", ICLR 2021.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gc_theory.core.validation import check_nonnegative
from ._checks import check_problem, check_step

__all__ = ["GradientPenalty", "MeanLoss", "explicit_regularization", "modified_loss", "sgd_modified_loss"]


class GradientPenalty:
    r""":math:`L + \mu\|\nabla L\|^2` as a problem.

    Notes
    -----
    .. math::

        \nabla(L + \mu\|g\|^2) = g + 2\mu Hg,\qquad
        \nabla^2(L + \mu\|g\|^2)\,v = Hv + 2\mu\,(H^2 v + \nabla^3L[g, v]).

    The gradient costs one Hessian-vector product; the Hessian-vector product
    needs the base problem's ``third``.
    """

    def __init__(self, problem: Any, mu: float) -> None:
        self.problem = check_problem(problem, "problem", ("value", "grad", "hvp"), "a gradient penalty")
        self.mu = check_nonnegative(mu, "mu")
        if hasattr(problem, "dim"):
            self.dim = problem.dim

    def value(self, theta: np.ndarray) -> float:
        g = self.problem.grad(theta)
        return float(self.problem.value(theta) + self.mu * (g @ g))

    def grad(self, theta: np.ndarray) -> np.ndarray:
        g = self.problem.grad(theta)
        return g + 2.0 * self.mu * self.problem.hvp(theta, g)

    def hvp(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        check_problem(self.problem, "problem", ("third",), "the Hessian of a gradient penalty")
        g = self.problem.grad(theta)
        hv = self.problem.hvp(theta, v)
        return hv + 2.0 * self.mu * (self.problem.hvp(theta, hv) + self.problem.third(theta, g, v))


def modified_loss(problem: Any, h: float) -> GradientPenalty:
    r"""The first-order modified loss of gradient descent, :math:`L + (h/4)\|\nabla L\|^2`.

    Parameters
    ----------
    problem : problem
        Needs ``value``, ``grad`` and ``hvp``.
    h : float
        The step of gradient descent, > 0.

    Returns
    -------
    GradientPenalty
        Its gradient is :math:`g + (h/2)Hg`, one Hessian-vector product.

    Examples
    --------
    >>> import numpy as np
    >>> from gc_theory.igr import modified_loss
    >>> from gc_theory.problems import TwoParameter
    >>> problem = TwoParameter(x=1.0, y=1.0)               # L(a, b) = (y - a b x)^2 / 2
    >>> theta, h = np.array([2.0, 0.1]), 0.1
    >>> value = modified_loss(problem, h).value(theta)
    >>> bool(np.isclose(value, problem.value(theta) + h / 4 * np.sum(problem.grad(theta) ** 2)))
    True

    """
    return GradientPenalty(problem, check_step(h) / 4.0)


def explicit_regularization(problem: Any, mu: float) -> GradientPenalty:
    r"""Explicit gradient regularisation :math:`L + \mu\|\nabla L\|^2` (mu >= 0)."""
    return GradientPenalty(problem, mu)


class MeanLoss:
    r""":math:`\frac1m\sum_k L_k`, the mean of problems, as a problem (``third`` when every member has one)."""

    def __init__(self, problems: Sequence[Any]) -> None:
        self.problems = tuple(problems)
        if not self.problems:
            raise ValueError("problems must hold at least one problem, got none")

    def value(self, theta: np.ndarray) -> float:
        return float(sum(p.value(theta) for p in self.problems) / len(self.problems))

    def grad(self, theta: np.ndarray) -> np.ndarray:
        return sum(p.grad(theta) for p in self.problems) / len(self.problems)

    def hvp(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        return sum(p.hvp(theta, v) for p in self.problems) / len(self.problems)

    def third(self, theta: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return sum(p.third(theta, u, v) for p in self.problems) / len(self.problems)


def sgd_modified_loss(batch_problems: Sequence[Any], h: float) -> MeanLoss:
    r"""Smith et al.'s modified loss of one epoch of SGD over m minibatches.

    .. math::

        \tilde L_{\mathrm{SGD}} = L + \frac{h}{4m}\sum_{k=1}^m \|\nabla L_k\|^2,
        \qquad L = \frac1m\sum_k L_k,

    the mean over the orderings of the epoch (random shuffling), with
    :math:`L_k` the loss of minibatch k.

    Parameters
    ----------
    batch_problems : sequence of problems
        The m minibatch losses (each with ``value``, ``grad``, ``hvp``).
    h : float
        The step, > 0.
    """
    h = check_step(h)
    batches = list(batch_problems)
    if not batches:
        raise ValueError("batch_problems must hold at least one minibatch problem, got none")
    return MeanLoss([modified_loss(check_problem(p, f"batch_problems[{k}]", ("value", "grad", "hvp"),
                                                   "the SGD modified loss"), h) for k, p in enumerate(batches)])
