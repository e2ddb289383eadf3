r"""Checking a Hessian-vector product against differences of the gradient.

For a gradient function g and a direction v, the central difference
:math:`(g(x + s v) - g(x - s v))/(2s)` approximates :math:`Hv` with error
:math:`c s^2 + O(s^4)` plus rounding :math:`\epsilon_g/s`. As in the
directional check, the displacement actually taken, :math:`d = x^+ - x^-`,
defines the direction the analytic product is evaluated on
(:math:`v_{\rm eff} = d/(2s)`), and the truncation is estimated from a
second step 2s:

.. math::

    \tau_i = \mathrm{safety}\,\Big(\tfrac{|\delta_i(2s) - \delta_i(s)|}{3}
    + \frac{\epsilon\,\max|g|}{s} + \epsilon\,|(Hv)_i|\Big),
    \qquad \delta(s) = \mathrm{hvp}(x, v_{\rm eff}) - \frac{g(x^+) - g(x^-)}{2s}.

Four gradient evaluations and two Hessian-vector products, whatever n is.
Arrays stay in x's namespace until the per-entry comparison, which is read
to the host for the report.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from gc_theory.core.validation import check_positive, check_seed
from gc_theory.core.backend import finfo_eps, to_numpy
from ._evaluate import describe_entry, validate_point
from ._report import CheckReport
from .check import DEFAULT_SAFETY, evaluate_gradient

__all__ = ["HVPReport", "check_hvp"]


@dataclass
class HVPReport(CheckReport):
    """Outcome of :func:`check_hvp` (per-entry arrays are flat host NumPy copies)."""

    worst: np.ndarray
    gradient_evaluations: int
    hvp_evaluations: int
    step: float
    shape: tuple[int, ...]

    title: ClassVar[str] = "Hessian-vector check"

    @property
    def evaluations(self) -> int:
        """Evaluations of the gradient function (the cost that scales with the model)."""
        return self.gradient_evaluations

    def __str__(self) -> str:
        lines = [self.headline(),
                 f"  {self.gradient_evaluations} gradient evaluations, {self.hvp_evaluations} Hessian-vector products, "
                 f"relative step {self.step:.3g}"]  # fmt: skip
        for i in self.worst[:5].tolist():
            lines.append(f"  {describe_entry(self.shape, i):<22} Hv {self.analytic[i]:>12.5g}  difference "
                         f"{self.numerical[i]:>12.5g}  |gap| {abs(self.analytic[i] - self.numerical[i]):.3g}  "
                         f"tolerance {self.tolerance[i]:.3g}")  # fmt: skip
        return "\n".join(lines)

    __repr__ = __str__


def check_hvp(grad_f: Callable[[Any], Any], hvp: Callable[[Any, Any], Any], x: Any, v: Any = None, *,
              h: float | None = None, safety: float = DEFAULT_SAFETY, seed: int = 0) -> HVPReport:  # fmt: skip
    r"""Check ``hvp(x, v)`` (a Hessian-vector product) against differences of ``grad_f``.

    Parameters
    ----------
    grad_f : callable
        ``grad_f(x)`` -> gradient array of x's shape.
    hvp : callable
        ``hvp(x, v)`` -> :math:`\nabla^2 f(x)\,v`, x's shape.
    x : array
        Real floating, finite, any array-API namespace.
    v : array, optional
        The direction (x's shape); default random signs times :math:`\max(|x_i|, 1)`.
    h : float, optional
        Relative step (default :math:`\epsilon^{1/3}`).
    safety : float
        Multiplies the derived tolerance (module docstring).
    seed : int
        Seeds the default direction.

    Returns
    -------
    HVPReport
        ``.passed``, ``.verdict``, ``.worst`` (flat indices), per-entry values, evaluation counts.

    Raises
    ------
    TypeError, ValueError
        Bad x or v; grad_f or hvp returning the wrong shape or non-finite values.
    """
    check_positive(safety, "safety")
    check_seed(seed)
    xp = validate_point(x, "x")
    if not callable(hvp):
        raise TypeError(f"hvp must be callable as hvp(x, v), got {type(hvp).__name__}")
    n = math.prod(x.shape)
    x64 = xp.astype(x, xp.float64)
    if v is None:
        signs = np.random.default_rng(seed).choice(np.array([-1.0, 1.0]), size=tuple(x.shape))
        v64 = xp.asarray(signs) * xp.maximum(xp.abs(x64), xp.asarray(1.0, dtype=xp.float64))
    else:
        validate_point(v, "v")
        if tuple(v.shape) != tuple(x.shape):
            raise ValueError(f"v has shape {tuple(v.shape)} but x has shape {tuple(x.shape)}; they must match")
        v64 = xp.astype(v, xp.float64)
    eps = finfo_eps(x.dtype)
    s = eps ** (1.0 / 3.0) if h is None else float(h)
    if not (0 < s < math.inf):
        raise ValueError(f"h must be a positive number, got {h!r}")
    grads = 0
    gap, numerical, analytic, big = [], None, None, 0.0
    for t in (s, 2 * s):
        plus, minus = xp.astype(x64 + t * v64, x.dtype), xp.astype(x64 - t * v64, x.dtype)
        v_eff = xp.astype((xp.astype(plus, xp.float64) - xp.astype(minus, xp.float64)) / (2 * t), x.dtype)
        gp = xp.astype(evaluate_gradient(grad_f, plus), xp.float64)
        gm = xp.astype(evaluate_gradient(grad_f, minus), xp.float64)
        grads += 2
        big = max(big, float(xp.max(xp.abs(gp))), float(xp.max(xp.abs(gm))))
        hv = xp.astype(evaluate_gradient(lambda z: hvp(z, v_eff), x, "hvp"), xp.float64)
        diff = (gp - gm) / (2 * t)
        gap.append(hv - diff)
        if numerical is None:
            numerical, analytic = diff, hv
    a = to_numpy(analytic).reshape(-1)
    d = to_numpy(numerical).reshape(-1)
    truncation = np.abs(to_numpy(gap[1] - gap[0]).reshape(-1)) / 3.0
    tiny = np.finfo(np.float64).tiny
    denom = np.maximum(np.maximum(np.abs(a), np.abs(d)), tiny)
    tol = safety * (truncation + eps * big / s + eps * np.abs(a)) / denom
    rel = np.abs(a - d) / denom
    worst = np.argsort(-(rel / tol), kind="stable")
    passed = bool(np.all(rel <= tol))
    if passed:
        verdict = f"all {n} entries of Hv agree with differences of the gradient"
    else:
        bad = np.flatnonzero(rel > tol)
        verdict = (f"{bad.size} of {n} entries of Hv disagree with differences of the gradient; worst at "
                   f"{describe_entry(tuple(x.shape), int(worst[0]))} (relative error {rel[worst[0]]:.3g})")  # fmt: skip
    return HVPReport(passed=passed, verdict=verdict, analytic=a, numerical=d, relative_error=rel, tolerance=tol, worst=worst,
                     gradient_evaluations=grads, hvp_evaluations=2, step=s, shape=tuple(x.shape))  # fmt: skip
