r"""Error curves of difference quotients on :math:`f = \exp`, the gradient-checking figures' data.

Every point of :func:`exp_points` is an independent one-dimensional problem
(one call of f per stencil); :func:`error_curve` summarises the relative
error over them by its root mean square, which averages the rounding noise
into a smooth curve whose log-log slopes the claims and figures read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..backend import to_numpy
from ..context import Context
from ..gradcheck import derivative

#: Number of points in [0.5, 1.5] on which the curves are measured.
POINTS = 256

__all__ = ["POINTS", "error_curve", "exp_points", "model_step", "rms_error"]


def exp_points(ctx: Context) -> Any:
    """The evaluation points of the curves, on ``ctx``'s backend and dtype."""
    return ctx.asarray(np.linspace(0.5, 1.5, POINTS))


def rms_error(ctx: Context, f: Callable[[Any], Any], exact: Any, x: Any, method: str, h: float) -> float:
    """Root mean square over the points of the relative error of f' by `method` at relative step h."""
    result = derivative(f, x, method, h)
    rel = to_numpy(result.value) / to_numpy(exact) - 1.0
    return float(np.sqrt(np.mean(rel**2)))


def error_curve(ctx: Context, method: str, hs: np.ndarray, f: Callable[[Any], Any] | None = None,
                exact: Any = None) -> np.ndarray:  # fmt: skip
    """RMS relative error of the derivative of f (default exp) at each relative step in `hs`."""
    x = exp_points(ctx)
    f = ctx.xp.exp if f is None else f
    exact = ctx.xp.exp(ctx.xp.astype(x, ctx.xp.float64)) if exact is None else exact
    return np.array([rms_error(ctx, f, exact, x, method, float(h)) for h in hs])


def model_step(ctx: Context, method: str) -> float:
    """The error-model step the library picks for exp on the points (median over points)."""
    return float(np.median(to_numpy(derivative(ctx.xp.exp, exp_points(ctx), method).steps)))
