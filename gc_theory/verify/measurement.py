"""A measured residual and the tolerance derived for it: what every check returns.

Numerics (projections, convergence fitting, gradient checks) build
:class:`Measurement` objects; the claims registry (:mod:`gc_theory.claims`)
applies the rules to them. It sits at the bottom of the layers so that both can
use it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Measurement"]


@dataclass(frozen=True)
class Measurement:
    """A residual, the tolerance derived for it, and what they were measured on.

    Parameters
    ----------
    residual : float
        The measured error, >= 0. NaN means the check met non-finite numbers
        and fails.
    tolerance : float
        The bound the residual is held to, derived from the dtype's rounding
        error and the sizes involved, or from the method's error model.
    scale : float or None
        The size of the quantities compared, so that ``residual / (eps*scale)``
        reads as "so many rounding errors". None when the residual is not a
        rounding error (a fitted slope, a ratio of errors), so that no count
        of eps is shown for it.
    detail : str
        Where the worst case was (sizes, step), shown in reports.
    """

    residual: float
    tolerance: float
    scale: float | None = 1.0
    detail: str = ""

    def __post_init__(self) -> None:
        # Plain Python types at the source: a NumPy or 0-d array residual would
        # otherwise make `passed` a numpy.bool_ that JSON cannot write.
        object.__setattr__(self, "residual", _plain_float(self.residual, "residual"))
        object.__setattr__(self, "tolerance", _plain_float(self.tolerance, "tolerance"))
        if self.scale is not None:
            object.__setattr__(self, "scale", _plain_float(self.scale, "scale"))
        if not isinstance(self.detail, str):
            raise TypeError(f"detail must be a str, got {type(self.detail).__name__}")

    @property
    def passed(self) -> bool:
        return bool(math.isfinite(self.residual) and self.residual <= self.tolerance)

    @property
    def ratio(self) -> float:
        """residual / tolerance; +inf for a NaN residual, so it sorts as worst."""
        if not math.isfinite(self.residual):
            return math.inf
        return self.residual / self.tolerance if self.tolerance > 0 else (0.0 if self.residual == 0 else math.inf)

    @staticmethod
    def worst(measurements: Iterable[Measurement]) -> Measurement:
        """The measurement closest to (or furthest past) its tolerance.

        Ties (exact zeros, say) go to the case with the largest tolerance, so
        the reported tolerance is the most informative one.
        """
        items = list(measurements)
        if not items:
            raise ValueError("worst() needs at least one measurement")
        return max(items, key=lambda m: (m.ratio, m.tolerance))


def _plain_float(value: object, name: str) -> float:
    """`value` as a Python float: accepts Python and NumPy reals and 0-d arrays of any backend."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got bool")
    if isinstance(value, (str, bytes)):  # float() would parse them: a check returning text is a bug
        raise TypeError(f"{name} must be a real number or a 0-d array, got {type(value).__name__}")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number or a 0-d array, got {type(value).__name__}") from None
