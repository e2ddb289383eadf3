"""Argument checks shared by the igr modules: steps, problems, parameter vectors."""

from __future__ import annotations

from typing import Any

import numpy as np

from gc_theory.core.validation import check_positive, host_vector

def check_problem(problem: Any, name: str, needs: tuple[str, ...], why: str) -> Any:
    """`problem` if it has each method in `needs`; else a TypeError naming the method and what needs it."""
    for method in needs:
        if not callable(getattr(problem, method, None)):
            raise TypeError(f"{name} must have a callable .{method}(theta{', ...' if method in ('hvp', 'third') else ''})"
                            f" ({why} needs it), got {type(problem).__name__} without one")
    return problem


def check_step(h: Any, name: str = "h") -> float:
    """A step size: finite and > 0."""
    return check_positive(h, name)


def check_series_step(h: float, lambda_max: float | None, name: str = "h") -> None:
    """Refuse h*lambda_max >= 1, where the backward-error series does not converge."""
    if lambda_max is not None and h * lambda_max >= 1.0:
        raise ValueError(
            f"{name} must satisfy {name}*lambda_max < 1 for a modified equation, got {name}*lambda_max = "
            f"{h * lambda_max:g}: the series in h*lambda (log(1 - h*lambda) for a quadratic) diverges there, "
            "so backward error analysis does not apply")


def as_theta(theta: Any, name: str = "theta") -> np.ndarray:
    """A finite 1-d float64 host vector."""
    return host_vector(theta, name)
