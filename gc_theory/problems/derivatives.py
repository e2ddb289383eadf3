r"""The points on which the gradient-checking claims trace error curves of :math:`f = \exp`.

Every point of :func:`exp_points` is an independent one-dimensional problem
(one call of f per stencil). The curves themselves are computed by
:mod:`gc_theory.gradcheck.curves`; :func:`error_curve` and :func:`model_step`
bind them to these points and a :class:`~gc_theory.verify.context.Context`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gc_theory.verify.context import Context
from gc_theory.gradcheck.curves import model_step as _model_step
from gc_theory.gradcheck.curves import rms_error_curve, rms_relative_error

#: Number of points in [0.5, 1.5] on which the curves are measured.
POINTS = 256

__all__ = ["POINTS", "error_curve", "exp_points", "model_step", "rms_error"]


def exp_points(ctx: Context) -> Any:
    """The evaluation points of the curves, on ``ctx``'s backend and dtype."""
    return ctx.asarray(np.linspace(0.5, 1.5, POINTS))


def rms_error(ctx: Context, f: Callable[[Any], Any], exact: Any, x: Any, method: str, h: float) -> float:
    """Root mean square over the points of the relative error of f' by `method` at relative step h."""
    return rms_relative_error(f, exact, x, method, h)


def error_curve(ctx: Context, method: str, hs: np.ndarray, f: Callable[[Any], Any] | None = None,
                exact: Any = None) -> np.ndarray:  # fmt: skip
    """RMS relative error of the derivative of f (default exp) at each relative step in `hs`, on the points."""
    return rms_error_curve(exp_points(ctx), method, hs, f, exact)


def model_step(ctx: Context, method: str) -> float:
    """The error-model step the library picks for exp on the points (median over points)."""
    return _model_step(exp_points(ctx), method)
