"""Former adapter of the models' cases; its names still work and warn (DeprecationWarning).

The flat view is :func:`gc_theory.cases.flat_case`, the cases :func:`gc_theory.cases.gradient_cases`
and the planted bugs :func:`gc_theory.cases.planted_bugs`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from . import cases as _old
from . import flat as _flat
from ..models.catalogue import catalogue

__all__ = ["flat_case", "model_bug_cases", "model_cases"]


def flat_case(case: Any, xp: Any) -> _flat.Case:
    warnings.warn("gradcheck._model_cases.flat_case is deprecated; import flat_case from gc_theory.cases",
                  DeprecationWarning, stacklevel=2)  # fmt: skip
    return _flat.flat_case(case, xp)


def model_cases(xp: Any, dtype: Any, rng: np.random.Generator) -> list[_flat.Case]:
    warnings.warn("gradcheck._model_cases.model_cases(...) is deprecated; call gc_theory.cases.gradient_cases(xp, dtype, seed)",
                  DeprecationWarning, stacklevel=2)  # fmt: skip
    return [_flat.flat_case(c, xp) for c in catalogue(xp, dtype, seed=int(rng.integers(0, 2**31)))]


model_bug_cases = _old.model_bug_cases
