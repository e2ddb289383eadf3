"""Former home of the error model; kept so that ``gc_theory.gradcheck.steps`` imports keep working.

The error model now lives in :mod:`gc_theory.gradcheck.error_model`.
"""

from .error_model import (  # noqa: F401
    METHODS,
    StepModel,
    derivative_order,
    estimate_derivative,
    model_error,
    optimal_step,
    pilot_step,
    resolved_points,
    stencil_offsets,
)

__all__ = [
    "METHODS",
    "StepModel",
    "derivative_order",
    "estimate_derivative",
    "model_error",
    "optimal_step",
    "pilot_step",
    "resolved_points",
    "stencil_offsets",
]
