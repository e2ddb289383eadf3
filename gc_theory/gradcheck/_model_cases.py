"""The layers, losses and models of :mod:`gc_theory.models` as flat-vector gradient cases.

The adapter now lives in :mod:`gc_theory.gradcheck.cases` (one flattener,
:func:`~gc_theory.gradcheck.cases.ravel_params`); these names stay importable here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .cases import Case, _model_cases, flat_case, model_bug_cases

__all__ = ["flat_case", "model_bug_cases", "model_cases"]


def model_cases(xp: Any, dtype: Any, rng: np.random.Generator) -> list[Case]:
    """Every catalogue case (layers, losses, models), flattened; seeded from `rng`."""
    return _model_cases(xp, dtype, rng)
