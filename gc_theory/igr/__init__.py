r"""Implicit gradient regularisation: backward error analysis of gradient methods (NumPy/SciPy, host only).

Gradient descent with step h follows the gradient flow of
:math:`L + (h/4)\|\nabla L\|^2` more closely than that of L: an implicit penalty
on the gradient norm that grows with the step. This package builds the modified
losses and fields (gd to second order, heavy ball, Nesterov, Adam and RMSprop to first),
integrates their flows with an error estimate, derives every coefficient
symbolically (:mod:`gc_theory.igr.symbolic`, SymPy, imported on demand), and
measures where gradient descent comes to rest: sharpness, and the expected loss
under parameter noise (:mod:`gc_theory.igr.flatness`).

A *problem* is any object with ``value(theta)``, ``grad(theta)``,
``hvp(theta, v)`` and, for second order, ``third(theta, u, v)``, theta a 1-d
float64 NumPy array (:mod:`gc_theory.problems` has several).

References
----------
.. [1] D. G. T. Barrett and B. Dherin, "Implicit Gradient Regularization", ICLR 2021.
.. [2] S. L. Smith, B. Dherin, D. G. T. Barrett, S. De, "On the Origin of Implicit Regularization in
   Stochastic Gradient Descent", ICLR 2021.
.. [3] M. D. Cattaneo, J. M. Klusowski, B. Shigida, "On the Implicit Bias of Adam", ICML 2024.
"""

from __future__ import annotations

from .fields import METHODS, adam_field, euler_series_field, modified_field, momentum_coefficient
from .flatness import Rest, descend_to_rest, gaussian_loss_increase
from .flows import FlowError, FlowResult, adam_descent, flow, gradient_descent, momentum_descent, rk4, sampled_flow
from .ladders import dense_lambda_max, fixed_time_errors, one_step_errors
from .losses import GradientPenalty, MeanLoss, explicit_regularization, modified_loss, sgd_modified_loss
from .shuffling import epoch, partitions, shuffled_epoch_mean, shuffling_modified_loss

__all__ = [
    "METHODS",
    "FlowError",
    "FlowResult",
    "GradientPenalty",
    "MeanLoss",
    "Rest",
    "adam_descent",
    "adam_field",
    "dense_lambda_max",
    "descend_to_rest",
    "epoch",
    "euler_series_field",
    "explicit_regularization",
    "fixed_time_errors",
    "gaussian_loss_increase",
    "flow",
    "gradient_descent",
    "modified_field",
    "modified_loss",
    "momentum_coefficient",
    "momentum_descent",
    "one_step_errors",
    "partitions",
    "rk4",
    "sampled_flow",
    "sgd_modified_loss",
    "shuffled_epoch_mean",
    "shuffling_modified_loss",
]
