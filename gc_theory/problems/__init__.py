"""Test problems every area draws from: ``value``, ``grad``, ``hvp`` and, where cheap, ``third``.

A problem is duck-typed: any object with ``value(theta)``, ``grad(theta)``,
``hvp(theta, v)`` (the Hessian-vector product) and optionally
``third(theta, u, v)`` (the contraction :math:`\\nabla^3 L[u, v]`, a vector),
theta a 1-d float64 NumPy array. The problems here give all four exactly.
"""

from __future__ import annotations

from .quadratic import Quadratic
from .quartic import Quartic
from .two_parameter import TwoParameter
from .valley import Valley

__all__ = ["Quadratic", "Quartic", "TwoParameter", "Valley"]
