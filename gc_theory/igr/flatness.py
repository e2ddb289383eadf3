r"""Where gradient descent comes to rest: sharpness, the gradient penalty and robustness to noise (NumPy, host only).

The implicit penalty :math:`(h/4)\|\nabla L\|^2` predicts that a larger step
ends at a flatter minimum, as long as the modified equation describes the run,
that is below the catapult threshold :math:`h < 2/S_0` (:math:`S_0` the
sharpness at the start). Linear stability bounds where any run can stop: a
minimum with sharpness :math:`S > 2/h` repels gradient descent, so every run
that converges ends with :math:`S \le 2/h`. Flatness is linked to robustness:
under Gaussian parameter noise of scale :math:`\sigma`,

.. math::

    \mathbb E\,L(\theta + \sigma\xi) - L(\theta) = \frac{\sigma^2}{2}\operatorname{tr}H
    + O(\sigma^4),\qquad \xi \sim \mathcal N(0, I),

the odd orders vanishing by symmetry.

References
----------
.. [1] D. G. T. Barrett and B. Dherin, "Implicit Gradient Regularization", ICLR 2021, Sec. 5-6.
.. [2] J. Cohen et al., "Gradient Descent on Neural Networks Typically Occurs at the Edge of Stability",
   ICLR 2021.
.. [3] A. Lewkowycz et al., "The large learning rate phase of deep learning: the catapult mechanism", 2020.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gc_theory.core.validation import check_int, check_positive
from ._checks import as_theta, check_problem, check_step

__all__ = ["Rest", "descend_to_rest", "gaussian_loss_increase"]


@dataclass(frozen=True)
class Rest:
    """Where a gradient-descent run stopped.

    Attributes
    ----------
    theta : numpy.ndarray
        The last iterate.
    steps : int
        Steps taken.
    converged : bool
        Whether :math:`\\|\\nabla L\\|_2` fell below the tolerance within the budget.
    grad_norm : float
        :math:`\\|\\nabla L(\\theta)\\|_2` at the last iterate.
    """

    theta: np.ndarray
    steps: int
    converged: bool
    grad_norm: float


def descend_to_rest(problem: Any, theta0: Any, h: float, *, gtol: float = 1e-12,
                    max_steps: int = 200_000) -> Rest:
    r"""Gradient descent with step h until :math:`\|\nabla L\|_2 \le` `gtol` (or `max_steps`, or overflow).

    A run that leaves the finite numbers stops there and reports ``converged=False``.
    """
    check_problem(problem, "problem", ("grad",), "gradient descent")
    theta = as_theta(theta0, "theta0")
    h = check_step(h)
    gtol = check_positive(gtol, "gtol")
    budget = check_int(max_steps, "max_steps", minimum=1)
    with np.errstate(over="ignore", invalid="ignore"):
        for n in range(budget + 1):
            g = problem.grad(theta)
            norm = float(np.sqrt(g @ g))
            if not np.isfinite(norm) or norm <= gtol or n == budget:
                return Rest(theta, n, bool(norm <= gtol), norm)
            theta = theta - h * g
    raise AssertionError("unreachable")  # pragma: no cover


def gaussian_loss_increase(problem: Any, theta: Any, sigma: float, nodes: int = 12) -> float:
    r""":math:`\mathbb E\,L(\theta + \sigma\xi) - L(\theta)`, :math:`\xi \sim \mathcal N(0, I)`, by Gauss-Hermite rule.

    Parameters
    ----------
    problem : problem
        Needs ``value``; the parameter dimension d must be small (the rule has
        ``nodes**d`` points).
    theta : array_like
        The point, 1-d.
    sigma : float
        The noise scale, > 0.
    nodes : int
        Points per coordinate; the tensor rule is exact for polynomials of degree
        ``2*nodes - 1`` in each coordinate.

    Notes
    -----
    Exact to rounding for a polynomial loss of degree below 2 ``nodes`` (the
    two-parameter model is of degree 4 in :math:`\xi`); for a smooth loss the rule
    converges exponentially in ``nodes``.
    """
    check_problem(problem, "problem", ("value",), "the expected loss under noise")
    theta = as_theta(theta, "theta")
    sigma = check_positive(sigma, "sigma")
    k = check_int(nodes, "nodes", minimum=1)
    if k ** theta.size > 10**6:
        raise ValueError(f"nodes must keep nodes**dim <= 1e6 for a tensor rule, got {k}**{theta.size}")
    x, w = np.polynomial.hermite_e.hermegauss(k)
    w = w / w.sum()
    grid = np.stack(np.meshgrid(*([x] * theta.size), indexing="ij"), axis=-1).reshape(-1, theta.size)
    weights = np.prod(np.stack(np.meshgrid(*([w] * theta.size), indexing="ij"), axis=-1).reshape(-1, theta.size),
                      axis=1)
    base = float(problem.value(theta))
    return float(sum(wi * (float(problem.value(theta + sigma * xi)) - base) for wi, xi in zip(weights, grid,
                                                                                           strict=True)))
