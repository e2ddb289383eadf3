"""Derivatives of an elementwise function at many points at once (for error curves, claims and figures)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from gc_theory.core.backend import finfo_eps, to_numpy
from ._evaluate import validate_point
from .numerical import NumericalResult, check_method, complex_dtype
from .stencils import complex_step, finite_difference
from .error_model import (
    StepModel,
    derivative_order,
    estimate_derivative,
    model_error,
    optimal_step,
    pilot_step,
    resolved_points,
    stencil_offsets,
)

__all__ = ["derivative"]


def derivative(f: Callable[[Any], Any], x: Any, method: str = "central", h: Any = None, *,
               noise: Any = None) -> NumericalResult:  # fmt: skip
    r"""Derivatives of an elementwise function at many points at once: :math:`f'(x_k)` for every k.

    f acts elementwise (like ``xp.exp``); every point k is an independent
    one-dimensional problem, so each stencil is one call of f on the whole
    array. With ``h=None`` each point gets its own error-model step, from its
    own estimate of M; a number h is a *relative* step (``h * max(|x_k|, 1)``),
    the same for every point. The same difference formulas as
    :func:`numerical_gradient`; used by the claims and figures to trace the
    error against h.

    Returns
    -------
    NumericalResult
        ``value`` (x's shape), ``steps`` (absolute, per point), ``predicted_error``
        (the model's bound per point, NaN for an explicit h) and ``evaluations``
        (points evaluated, summed over stencils).
    """
    xp = validate_point(x, "x")
    check_method(method)
    eps = finfo_eps(x.dtype)
    sigma = xp.maximum(xp.abs(xp.astype(x, xp.float64)), xp.asarray(1.0, dtype=xp.float64))
    count = [0]

    def call(z: Any) -> Any:
        count[0] += math.prod(z.shape)
        return f(z)

    def at(step: Any, sign: float) -> tuple[Any, Any]:
        """(x + sign*step reached, as float64; f there as float64), by the one spacing rule."""
        flat = xp.reshape(x, (-1,))
        (moved,) = resolved_points(xp, flat, xp.reshape(step, (-1,)), (sign,), lambda i: f"point {i}")
        moved = xp.reshape(moved, x.shape)
        return xp.astype(moved, xp.float64), xp.astype(call(moved), xp.float64)

    f0 = xp.astype(call(x), xp.float64)
    if noise is None:
        noise = eps * xp.maximum(xp.abs(f0), xp.asarray(np.finfo(np.float64).tiny, dtype=xp.float64))
    model_M = xp.full(x.shape, math.nan, dtype=xp.float64)
    if method == "complex":
        rel = eps**2 if h is None else float(h)
        steps = rel * sigma
        ctype = complex_dtype(xp, x.dtype)
        h_exact = xp.astype(xp.astype(steps, x.dtype), xp.float64)
        z = xp.astype(x, ctype) + xp.astype(h_exact, ctype) * xp.asarray(1j, dtype=ctype)
        value = complex_step(xp.astype(call(z), xp.complex128), h_exact)
        predicted = eps * xp.abs(value)
        return NumericalResult(value, count[0], count[0], StepModel(method, rel, math.nan, math.nan, math.nan), steps, predicted)
    if h is None:
        order = derivative_order(method)
        s = pilot_step(order, eps)
        values = {0.0: f0}
        for o in stencil_offsets(order):
            if o != 0.0:
                values[o] = at(o * s * sigma, 1.0)[1]
        estimate, floor = estimate_derivative(values, order, s, noise)
        model_M = xp.maximum(estimate, floor)
        rel = optimal_step(method, model_M, noise)
    else:
        rel = float(h)
    steps = rel * sigma
    x64 = xp.astype(x, xp.float64)
    value = finite_difference(method, lambda c: (x64, f0) if c == 0.0 else at(abs(c) * steps, math.copysign(1.0, c)))
    if h is None:
        predicted = model_error(method, rel, model_M, noise) / sigma
        scalar_h = float(np.median(to_numpy(rel)))
    else:
        predicted = xp.full(x.shape, math.nan, dtype=xp.float64)
        scalar_h = rel
    model = StepModel(method, scalar_h, math.nan, math.nan, math.nan, chosen=h is None)
    return NumericalResult(value, count[0], count[0], model, steps, predicted, None, {"M": model_M})

