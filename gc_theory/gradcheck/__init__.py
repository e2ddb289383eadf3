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

Every result counts the evaluations of f it cost. The error model behind the
steps and tolerances is in :mod:`gc_theory.gradcheck.error_model`; the difference
formulas, with a plain central difference to read first, in
:mod:`gc_theory.gradcheck.stencils`.

>>> import numpy as np
>>> from gc_theory.gradcheck import check_gradient
>>> f = lambda w: float(np.sum(np.sin(w) ** 2))
>>> report = check_gradient(f, lambda w: np.sin(2 * w), np.linspace(0.1, 1.0, 5))
>>> report.passed
True
"""

from .cases import ravel_params
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
