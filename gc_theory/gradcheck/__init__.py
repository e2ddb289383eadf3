r"""Finite-difference gradient checking that explains its verdicts, localises bugs and reaches the accuracy floor.

=============================  =================================================================
``numerical_gradient``         forward, central, Richardson, complex step; error-model step
``numerical_jacobian``         the same for array-valued f
``check_gradient``             entry-by-entry check with a diagnosis (bug / step / kink)
``directional_check``          random-direction check: 4 evaluations per direction, any n
``localize``                   the wrong entries, by group testing (O(log n) evaluations)
``check_hvp``                  a Hessian-vector product against differences of the gradient
``diagnose``                   the shrink-h / kink diagnosis of chosen entries at a given step
=============================  =================================================================

Every result counts the evaluations of f it cost, and every verdict is one of
passed, failed (with a diagnosis) or inconclusive (with the reason: a step too
large to see the error, f unresolved at the spacing of x).

Modules, one idea each: :mod:`~gc_theory.gradcheck.stencils` (the difference
formulas, after a five-line central difference to read first),
:mod:`~gc_theory.gradcheck.error_model` (the bounds, the step, the probes that
estimate M and the noise, the spacing rule), :mod:`~gc_theory.gradcheck.curves`
(error against step), :mod:`~gc_theory.gradcheck.flat` (a dict of arrays as one
vector, and the generic planted bugs), then the checkers built on them.

>>> import numpy as np
>>> from gc_theory.gradcheck import check_gradient
>>> f = lambda w: float(np.sum(np.sin(w) ** 2))
>>> report = check_gradient(f, lambda w: np.sin(2 * w), np.linspace(0.1, 1.0, 5))
>>> report.passed
True
"""

from .flat import ravel_params
from .check import Diagnosis, GradientReport, PrecisionWarning, check_gradient, diagnose
from .directional import DirectionalReport, Localization, directional_check, localize
from .hessian import HVPReport, check_hvp
from .elementwise import derivative
from .numerical import NumericalResult, numerical_gradient, numerical_jacobian
from .error_model import StepModel

__all__ = [
    "Diagnosis",
    "DirectionalReport",
    "GradientReport",
    "HVPReport",
    "Localization",
    "NumericalResult",
    "PrecisionWarning",
    "StepModel",
    "check_gradient",
    "check_hvp",
    "diagnose",
    "derivative",
    "directional_check",
    "localize",
    "numerical_gradient",
    "numerical_jacobian",
    "ravel_params",
]
