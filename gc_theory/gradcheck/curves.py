r"""Error against step: the curve on which the error model of :mod:`~gc_theory.gradcheck.error_model` is seen.

For an elementwise f with a known derivative, the relative error of a
difference formula at relative step h traces the model's "V": truncation
(slope 1 for forward, 2 for central, 4 for Richardson on log-log axes) to the
right of :math:`h^*`, rounding (slope -1) to the left. Figures and benchmarks
draw and time these curves; the registry checks the slopes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gc_theory.core.backend import array_namespace, to_numpy
from .elementwise import derivative

__all__ = ["model_step", "rms_relative_error", "rms_error_curve"]


def rms_relative_error(f: Callable[[Any], Any], exact: Any, x: Any, method: str, h: float) -> float:
    r"""Root mean square over the points x of :math:`\hat f'(x)/f'(x) - 1`, by `method` at relative step h."""
    result = derivative(f, x, method, h)
    rel = to_numpy(result.value) / to_numpy(exact) - 1.0
    return float(np.sqrt(np.mean(rel**2)))


def rms_error_curve(x: Any, method: str, hs: np.ndarray, f: Callable[[Any], Any] | None = None,
                    exact: Any = None) -> np.ndarray:  # fmt: skip
    """:func:`rms_relative_error` at each relative step in `hs`; f defaults to exp (then exact is exp too)."""
    xp = array_namespace(x)
    f = xp.exp if f is None else f
    exact = xp.exp(xp.astype(x, xp.float64)) if exact is None else exact
    return np.array([rms_relative_error(f, exact, x, method, float(h)) for h in hs])


def model_step(x: Any, method: str, f: Callable[[Any], Any] | None = None) -> float:
    """The median over the points x of the error-model step chosen for f (default exp)."""
    f = array_namespace(x).exp if f is None else f
    return float(np.median(to_numpy(derivative(f, x, method).steps)))
