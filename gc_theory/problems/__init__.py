r"""Test problems every area draws from: losses with their exact derivatives, and the optimisers' data.

The protocol
------------
A *problem* is any object with

``value(theta)``
    the scalar loss at a 1-d parameter vector ``theta`` (a 0-d array of theta's namespace);
``grad(theta)``
    :math:`\nabla f(\theta)`, theta's shape;
``hvp(theta, v)``
    the Hessian-vector product :math:`\nabla^2 f(\theta)\,v`;
``third(theta, u, v)`` (optional, where cheap)
    the contraction :math:`\nabla^3 f(\theta)[u, v]`, a vector (what backward error
    analysis of gradient descent needs for its next-order modified loss).

The protocol is duck-typed (:class:`Problem` is a :class:`typing.Protocol` for
type checkers only): a user's own object works without subclassing anything.
Derivatives are exact, written under each value, and checked against
:func:`gc_theory.gradcheck.check_gradient`, :func:`gc_theory.gradcheck.check_hvp`
and torch autograd in the tests.

Families
--------
:mod:`.glm`          losses of a linear predictor (least squares, logistic, tanh, quartic double well)
:mod:`.convex`       per-unit strongly convex problems with rounding bounds and constrained minimisers
:mod:`.regression`   dict-of-arrays gradients ``grad(params, t)`` for the optimiser claims; a layer's least squares
:mod:`.invariance`   the input-shift probe of output invariance
:mod:`.quadratic`    quadratics with a chosen spectrum, their exact modified loss and flow
:mod:`.spd`          the quadratic CG solves, 1/2 x^T A x - b^T x, with a chosen spectrum
:mod:`.quartic`      a small quartic with a non-constant third derivative
:mod:`.two_parameter` the model L(a, b) = (y - a b x)^2/2 of implicit gradient regularisation
:mod:`.valley`       a curved valley (1 - exp(-phi_1^2/(2 sigma^2)), sigma = exp(-2 phi_0^2))
:mod:`.mlp`          a one-hidden-layer tanh MLP with softmax cross-entropy, and the IGR digits experiment

Examples
--------
>>> import numpy as np
>>> from gc_theory.problems import squared_loss
>>> X = np.eye(3); y = np.ones(3)
>>> p = squared_loss(X, y)
>>> float(p.value(np.zeros(3)))
0.5
>>> p.hvp(np.zeros(3), np.ones(3)) * 3
array([1., 1., 1.])
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from .convex import ConvexProblem, least_squares, logistic_regression
from .glm import LinearModelLoss, gaussian_classes, logistic_loss, quartic_loss, squared_loss, tanh_loss
from .invariance import shift_response
from .mlp import TanhMLP
from .quadratic import Quadratic
from .quartic import Quartic
from .regression import GradFn, LayerLeastSquares, diagonal_quadratic, init_params, tanh_regression
from .spd import SPDQuadratic, spd_quadratic
from .two_parameter import TwoParameter
from .valley import Valley


@runtime_checkable
class Problem(Protocol):
    """The structural type of a problem (see the module docstring); ``third`` is optional."""

    def value(self, theta: Any) -> Any: ...

    def grad(self, theta: Any) -> Any: ...

    def hvp(self, theta: Any, v: Any) -> Any: ...


__all__ = [
    "ConvexProblem",
    "GradFn",
    "LayerLeastSquares",
    "LinearModelLoss",
    "Problem",
    "Quadratic",
    "Quartic",
    "SPDQuadratic",
    "TanhMLP",
    "TwoParameter",
    "Valley",
    "diagonal_quadratic",
    "gaussian_classes",
    "init_params",
    "least_squares",
    "logistic_loss",
    "logistic_regression",
    "quartic_loss",
    "shift_response",
    "spd_quadratic",
    "squared_loss",
    "tanh_loss",
    "tanh_regression",
]
