r"""The measurements of the gradient-checking claims: error ladders, the best step, Richardson, the complex step, shrink-h.

Error curves are measured on :math:`f = \exp` at the :data:`POINTS` points of :func:`exp_points`, in [0.5, 1.5]
(every point an independent one-dimensional problem, one call of f per
stencil), and summarised by the root mean square of the relative error over
the points, which averages the rounding noise into a smooth curve. Orders on
the truncation side come from :mod:`gc_theory.verify.order_fit`: a geometric
ladder of steps kept 100x above the rounding floor, successive slopes, and a
tolerance derived from their drift. Each function takes a
:class:`~gc_theory.verify.context.Context` (backend, dtype, seeded stream) and
returns :class:`~gc_theory.verify.measurement.Measurement` objects, so the
claims of :mod:`gc_theory.claims.gradcheck` and the tests measure the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from gc_theory.core.backend import to_numpy
from gc_theory.verify.context import Context
from gc_theory.verify.measurement import Measurement
from gc_theory.verify.order_fit import geometric_ladder, order_measurement

from .check import diagnose
from .curves import model_step as _model_step
from .curves import rms_error_curve, rms_relative_error
from .elementwise import derivative
from .flat import plant, planted_entries

__all__ = ["FLOOR_MARGIN", "POINTS", "ROUNDING_FLOOR", "error_curve", "exp_points", "model_step", "rms_error", "complex_step_measurement", "noisy_exp", "order_on_ladder", "shrink_h_measurements",
           "step_model_measurement", "truncation_ladder"]


# --- the points and curves on exp -------------------------------------------------------------

#: Number of points in [0.5, 1.5] on which the curves are measured.
POINTS = 256

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


# --- the claims' measurements ---------------------------------------------------------------


#: Bound on the rounding part of each method's relative error on exp at relative step h, in units of eps/h (Notes of
#: :func:`truncation_ladder`).
ROUNDING_FLOOR = {"central": 1.25, "forward": 1.75, "richardson": 3.75}


#: A truncation ladder keeps its rungs while the error stays this far above the rounding floor.
FLOOR_MARGIN = 100.0


def truncation_ladder(ctx: Context, method: str, h_max: float, h_min: float, exact: Any, ratio: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Steps :math:`h_{\max}/r^i` down to `h_min`, the RMS error of `method` at each, and its rounding floor.

    The ladder stops at the first rung whose error comes within
    :data:`FLOOR_MARGIN` of the floor (at least 3 rungs are kept, so that
    :func:`~gc_theory.verify.order_fit.fit_order` refuses a ladder that reaches it).

    Notes
    -----
    f = exp = f' on [0.5, 1.5] at relative step h (absolute step
    :math:`h\max(|x|, 1) \ge h`). The values :math:`f(x \pm h)` round by
    :math:`u|f|`, the points :math:`x \pm h` by :math:`u|x| \le 1.5u`, which
    moves f by :math:`1.5u|f'|`; relative to :math:`f' = f` the central
    difference carries at most :math:`(2u + 2\cdot 1.5u)/(2h) = 2.5u/h = 1.25\epsilon/h`,
    the forward difference :math:`(2u + 1.5u)/h = 1.75\epsilon/h`, and
    Richardson's :math:`(4D(h/2) - D(h))/3` at most
    :math:`(4\cdot 2.5u/(h/2) + 2.5u/h)/3 = 7.5u/h = 3.75\epsilon/h`.
    """
    n = max(3, int(math.floor(math.log(h_max / h_min) / math.log(ratio) + 1e-9)) + 1)
    hs = geometric_ladder(h_max, n, ratio)
    errors = error_curve(ctx, method, hs, exact=exact)
    floor = ROUNDING_FLOOR[method] * ctx.eps / hs
    clear = errors >= FLOOR_MARGIN * floor
    keep = n if clear.all() else max(3, int(np.argmin(clear)))
    return hs[:keep], errors[:keep], floor[:keep]


def order_on_ladder(ctx: Context, label: str, method: str, h_max: float, h_min: float, expected: float, exact: Any,
                    ratio: float = 2.0) -> Measurement:  # fmt: skip
    """The Richardson-corrected order of `method` on :func:`truncation_ladder`, with the drift-derived tolerance."""
    hs, errors, floor = truncation_ladder(ctx, method, h_max, h_min, exact, ratio)
    return order_measurement(hs, errors, expected, rounding_floor=floor, floor_margin=1.0, detail=label)


def noisy_exp(ctx: Context, cancellation: float) -> Callable[[Any], Any]:
    """exp computed as (exp(x) + C) - C: `cancellation` = C/exp(x) times more rounding than eps*|f|."""
    C = cancellation * math.e

    def f(x: Any) -> Any:
        return (ctx.xp.exp(x) + C) - C

    return f


def step_model_measurement(ctx: Context, f: Callable[[Any], Any]) -> Measurement:
    r"""Best measured step vs the model's h*, and measured vs predicted error at h*.

    Notes
    -----
    Residual: the larger of ``(max(h_best/h*, h*/h_best) - 1)/2`` ("within a
    factor of 3") and ``(max(E/E*, E*/E) - 1)/9`` ("within a factor of 10"), held to 1.
    h_best is the minimum of the RMS error curve on a grid of 12 steps per decade
    over h*/30 .. 30 h*; E is the RMS error with the model's own step, E* its
    predicted bound (median over points).
    """
    x = exp_points(ctx)
    exact = ctx.xp.exp(ctx.xp.astype(x, ctx.xp.float64))
    chosen = derivative(f, x, "central")
    h_star = float(np.median(to_numpy(chosen.steps)))
    predicted = float(np.median(to_numpy(chosen.predicted_error) / to_numpy(exact)))
    measured = float(np.sqrt(np.mean((to_numpy(chosen.value) / to_numpy(exact) - 1.0) ** 2)))
    hs = np.geomspace(h_star / 30, h_star * 30, 36)
    curve = error_curve(ctx, "central", hs, f=f, exact=exact)
    h_best = float(hs[int(np.argmin(curve))])
    h_ratio = max(h_best / h_star, h_star / h_best)
    e_ratio = max(measured / predicted, predicted / measured)
    detail = f"h* = {h_star:.3g}, best h = {h_best:.3g}; error at h* {measured:.3g}, predicted {predicted:.3g}"
    # One prediction, two numbers: each miss as a fraction of its allowance, the larger one counts.
    return Measurement(max((h_ratio - 1.0) / 2.0, (e_ratio - 1.0) / 9.0), 1.0, None, detail)


def complex_step_measurement(ctx: Context, analytic: bool) -> list[Measurement]:
    r"""Max relative error of the complex step on smooth functions, held to 1e-14 in float64.

    Notes
    -----
    With no subtraction, the complex step's error is the rounding of f' itself,
    a few units of eps; 1e-14 is 45 eps in float64, and the same 45 eps in
    float32.
    """
    xp = ctx.xp
    x = exp_points(ctx)
    x64 = xp.astype(x, xp.float64)
    funcs = [
        ("exp", xp.exp, xp.exp(x64)),
        ("sin", xp.sin, xp.cos(x64)),
        ("tanh", xp.tanh, 1 - xp.tanh(x64) ** 2),
        ("x^3/(1+x^2)", lambda z: z**3 / (1 + z * z), (x64**4 + 3 * x64**2) / (1 + x64**2) ** 2),
    ]
    tol = 1e-14 / np.finfo(np.float64).eps * ctx.eps
    out = []
    for name, f, exact in funcs:
        g = f if analytic else (lambda z, f=f: f(xp.real(z)) + 0 * z)
        value = derivative(g, x, "complex").value
        rel = float(np.max(np.abs(to_numpy(value) / to_numpy(exact) - 1.0)))
        out.append(Measurement(rel, tol, 1.0, f"{name}: max relative error {rel:.3g}"))
    return out


def _separable(ctx: Context) -> tuple[Any, Callable[[Any], Any], Callable[[Any], Any]]:
    """f(x) = sum_i c_i exp(x_i) + x_0 x_1 x_2 for 3 entries: smooth, coupled, exact gradient known.

    Few terms keep |f| (hence rounding, eps|f|/h) comparable to each entry's
    truncation error, so that in float32 too the step h/10 stays truncation-dominated.
    """
    xp = ctx.xp
    x = ctx.asarray(ctx.rng.uniform(0.5, 1.5, 3))
    c = ctx.asarray(ctx.rng.uniform(0.5, 2.0, 3))

    def f(z: Any) -> Any:
        return xp.sum(c * xp.exp(z)) + xp.prod(z)

    def grad(z: Any) -> Any:
        return c * xp.exp(z) + xp.prod(z) / z

    return x, f, grad


def shrink_h_measurements(ctx: Context, correct: bool, expect_truncation: bool) -> list[Measurement]:
    r"""The shrink-h diagnosis at a truncation-dominated step h, one Measurement per diagnosed entry.

    Notes
    -----
    With the error model :math:`E(s) = M s^2/6 + \epsilon|f|/s` and its step
    :math:`h^*`, rounding over truncation at a step s is :math:`2(h^*/s)^3`.
    f here is a sum of positive terms: its rounding is at most about
    :math:`10u|f|` (exp within one ulp, six flops), and rounding the stencil
    points :math:`x \pm s` adds :math:`u|x f'| \le 2u|f|` more, so the
    difference quotient's rounding is at most :math:`12u|f|/s = 6\epsilon|f|/s`,
    six times the model's. At s = h/10 with :math:`h = \min(100h^*, 0.3)` a
    correct entry's error ratio :math:`e(h)/e(h/10)` is therefore
    :math:`100(1 + \rho)` with

    .. math:: |\rho| \le 12\,(10h^*/h)^3 + h^2/20,

    the second term the :math:`h^4` part of the central difference of exp.
    That is 0.012 in float64 (h = 100h*) and up to 0.16 in float32, where
    the cap h = 0.3 leaves h/10 only about 4h*; the tolerance is
    :math:`\log_{10}(1 + \rho)`. A bug of size :math:`\beta` gives
    :math:`\log_{10}((\beta + T)/(\beta + T/100))` with :math:`T/\beta < 0.03`,
    held to the same tolerance around 0. Residual: :math:`|\log_{10} r - 2|` where
    truncation is expected, else :math:`|\log_{10} r|`; infinite when the
    diagnosis names the wrong kind.
    """
    x, f, grad = _separable(ctx)
    h_star = model_step(ctx, "central")
    h = min(100 * h_star, 0.3)
    g = grad if correct else plant("sign_flip", grad, x)
    entries = planted_entries("sign_flip", grad, x) if not correct else None
    found, _ = diagnose(f, g, x, h, entries)
    target, kind = (2.0, "truncation") if expect_truncation else (0.0, "bug")
    tolerance = math.log10(1.0 + 12.0 * (10.0 * h_star / h) ** 3 + h * h / 20.0)
    out = []
    for i, d in found.items():
        r = math.log10(max(d.ratio, 1e-300))
        dev = abs(r - target) if (d.kind == kind or expect_truncation != correct) else math.inf
        out.append(Measurement(dev, tolerance, None, f"entry {i}: log10(e(h)/e(h/10)) = {r:.3f}, diagnosed {d.kind!r} (h = {h:.3g})"))
    return out
