r"""The textbook gradient-check recipe, and the two problems where it gives the wrong verdict.

The recipe taught in many course notes: take the central difference with
:math:`h = 10^{-7}`, accept the gradient when the largest absolute error is at
most :math:`h`; otherwise shrink h by 10 and expect the error to fall by 100
(truncation, :math:`O(h^2)`), and call it a bug when it does not.
:func:`textbook_recipe` applies it exactly as written, so that its verdicts
can be compared with :func:`~gc_theory.gradcheck.check_gradient`'s.

:func:`recipe_problem` builds the two problems on which the recipe fails,
one at each end:

* **rounding end**: :math:`f(w) = \sum_i c_i e^{w_i}` with n = 1000 in float64.
  :math:`|f| \approx 1.6\,n`, so each evaluation carries a rounding error of
  about :math:`u|f| \approx 10^{-13}` and the central difference an error of
  about :math:`u|f|/h \approx 10^{-6} > h`: the recipe rejects a correct
  gradient, and shrinking h *raises* the error tenfold (rounding grows as
  1/h) instead of lowering it 100x, so the recipe reports a bug.
* **threshold end**: the same f scaled by :math:`s = 10^{-9}`, with the sign of
  one gradient entry of size about :math:`10^{-9}` flipped. The error of that
  entry is :math:`2\times 10^{-9} \ll h`: the absolute threshold accepts it.

An absolute threshold ignores both the size of f (which sets the rounding
error) and the size of the gradient (which sets what counts as wrong);
``check_gradient`` derives its tolerance from both.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import array_namespace

from gc_theory.core.validation import check_callable, check_finite_floating, check_positive, check_real
from gc_theory.verify.measurement import Measurement

from .check import check_gradient

__all__ = ["RecipeProblem", "RecipeVerdict", "recipe_measurements", "recipe_problem", "textbook_recipe"]


@dataclass(frozen=True)
class RecipeVerdict:
    """What the textbook recipe concluded.

    Attributes
    ----------
    accepted : bool
        True when the recipe passes the gradient.
    verdict : str
        ``"accepted"`` (error <= h), ``"truncation"`` (error fell by the expected
        factor after shrinking h: accepted) or ``"bug"``.
    h : float
        The first step.
    error : float
        Largest absolute error of the central difference at `h`.
    error_shrunk : float or None
        The same at ``h / shrink``; None when the first test already accepted.
    drop : float or None
        ``error / error_shrunk``: the recipe expects at least ``shrink**2``.
    evaluations : int
        Evaluations of f.
    """

    accepted: bool
    verdict: str
    h: float
    error: float
    error_shrunk: float | None
    drop: float | None
    evaluations: int


def _central(f: Callable[[Any], Any], x: Any, h: float) -> Any:
    """The recipe's central difference, entry by entry, with the absolute step h."""
    xp = array_namespace(x)
    n = x.shape[0]
    out = []
    for i in range(n):
        e = xp.zeros(n, dtype=x.dtype)
        e[i] = h  # a fresh array: x itself is never written
        out.append((float(f(x + e)) - float(f(x - e))) / (2 * h))
    return xp.asarray(out, dtype=x.dtype)


def textbook_recipe(f: Callable[[Any], Any], grad: Any, x: Any, *, h: float = 1e-7, shrink: float = 10.0) -> RecipeVerdict:
    r"""Check a gradient the textbook way: absolute threshold h, then "shrink h, expect the error to fall shrink^2 times".

    Parameters
    ----------
    f : callable
        ``f(x) -> scalar`` for a 1-d x.
    grad : array
        The analytic gradient at x, x's shape.
    x : array
        The point: a finite 1-d real floating array of any array-API namespace.
    h : float, optional
        The absolute step and the acceptance threshold (default 1e-7).
    shrink : float, optional
        The factor h is divided by in the second test (default 10); the error must then fall ``shrink**2`` times.

    Returns
    -------
    RecipeVerdict

    Notes
    -----
    With :math:`D_i(h) = (f(x + h e_i) - f(x - h e_i))/(2h)` and
    :math:`E(h) = \max_i |D_i(h) - g_i|`, the recipe accepts when
    :math:`E(h) \le h`, else when :math:`E(h)/E(h/k) \ge k^2` (truncation
    :math:`O(h^2)`), and reports a bug otherwise. Its error model is the
    truncation term alone; the rounding term :math:`u|f|/h` and the size of
    g are absent, which is where it fails (module docstring). It costs 2n
    evaluations, 4n with the second test.

    References
    ----------
    CS231n, "Gradient checks" (course notes); Gill, Murray & Wright,
    *Practical Optimization* (1981), Sec. 8.6.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0.1, 1.0, 4)
    >>> textbook_recipe(lambda w: np.sum(np.sin(w)), np.cos(x), x).verdict
    'accepted'
    """
    check_callable(f, "f")
    xp = check_finite_floating(x, "x")
    if x.ndim != 1 or x.shape[0] == 0:
        raise ValueError(f"x must be a non-empty 1-d array, got shape {tuple(x.shape)}")
    g = xp.asarray(grad, dtype=x.dtype)
    if tuple(g.shape) != tuple(x.shape):
        raise ValueError(f"grad must have x's shape {tuple(x.shape)}, got {tuple(g.shape)}")
    h = check_positive(h, "h")
    shrink = check_real(shrink, "shrink", low=1.0, low_open=True)
    n = x.shape[0]
    error = float(xp.max(xp.abs(_central(f, x, h) - g)))
    if error <= h:
        return RecipeVerdict(True, "accepted", h, error, None, None, 2 * n)
    shrunk = float(xp.max(xp.abs(_central(f, x, h / shrink) - g)))
    drop = error / shrunk if shrunk > 0 else float("inf")
    ok = drop >= shrink**2
    return RecipeVerdict(ok, "truncation" if ok else "bug", h, error, shrunk, drop, 4 * n)


@dataclass(frozen=True)
class RecipeProblem:
    """A problem of :func:`recipe_problem`: f, the gradient handed to the checker, the point, and the planted entry."""

    f: Callable[[Any], Any]
    grad: Any
    x: Any
    flipped: int | None
    name: str


def recipe_problem(end: str, rng: np.random.Generator, xp: Any, *, n: int = 1000) -> RecipeProblem:
    r"""One of the two problems where the textbook recipe errs, in float64 on the namespace `xp`.

    Parameters
    ----------
    end : {"rounding", "threshold"}
        ``"rounding"``: :math:`f = \sum c_i e^{w_i}` with its correct gradient;
        ``"threshold"``: :math:`f = 10^{-9}\sum c_i e^{w_i}` with the sign of the
        gradient entry closest to :math:`10^{-9}` flipped.
    rng : numpy.random.Generator
        Draws :math:`c_i \sim U(0.5, 1.5)` and :math:`w_i \sim N(0, 1)`.
    xp : namespace
        The array namespace of the problem's arrays.
    n : int, optional
        The dimension (default 1000).

    Returns
    -------
    RecipeProblem

    Examples
    --------
    >>> import numpy as np
    >>> p = recipe_problem("threshold", np.random.default_rng(0), np, n=50)
    >>> p.flipped is not None, float(abs(p.grad[p.flipped])) < 1e-8
    (True, True)
    """
    if end not in ("rounding", "threshold"):
        raise ValueError(f"end must be 'rounding' or 'threshold', got {end!r}")
    c = xp.asarray(rng.uniform(0.5, 1.5, n), dtype=xp.float64)
    w = xp.asarray(rng.standard_normal(n), dtype=xp.float64)
    s = 1.0 if end == "rounding" else 1e-9

    def f(v: Any) -> Any:
        return s * xp.sum(c * xp.exp(v))

    g = s * c * xp.exp(w)
    if end == "rounding":
        return RecipeProblem(f, g, w, None, f"rounding end: f = sum c exp(w), n = {n}, correct gradient")
    j = int(xp.argmin(xp.abs(g - 1e-9)))
    g = xp.where(xp.arange(n) == j, -g, g)
    return RecipeProblem(f, g, w, j, f"threshold end: f = 1e-9 sum c exp(w), n = {n}, entry {j} of size "
                                     f"{float(-g[j]):.2g} sign-flipped")  # fmt: skip


def recipe_measurements(ctx: Any, control: bool) -> list[Measurement]:
    r"""``check_gradient``'s verdicts (or, with `control`, the recipe's) on both problems, as measurements.

    Each residual is "how far the checker is from the wrong verdict", held to 1:

    * rounding end (correct gradient): ``check_gradient``'s largest error/tolerance
      (NaN unless it passed); the recipe's decisive number is its shrink test,
      :math:`k^2 E(h/k)/E(h)` (it passes when <= 1, i.e. the error fell k^2 times).
    * threshold end (one flipped entry j): ``check_gradient``'s tolerance/error of
      entry j (NaN unless it names exactly j as a bug); the recipe's is
      :math:`h / E(h)` (<= 1 when its threshold rejects).

    Notes
    -----
    The data are float64 whatever ``ctx.dtype`` is: the recipe's h = 1e-7 is a
    float64 step (in float32 it is below the spacing of numbers near 1). The
    margins follow from the rounding model: at the rounding end
    :math:`E(h) \approx u|f|/h` with :math:`|f| \approx 1.6 n`, so shrinking h
    by 10 multiplies E by 10 and the recipe's residual is about
    :math:`100 \cdot 10 = 10^3`; at the threshold end the flipped entry's
    error is :math:`2|g_j| \approx 2\times 10^{-9}` and the recipe's residual
    :math:`h/E \approx 50`. ``check_gradient``'s own tolerance is its error
    model's bound at its step, so its residuals are far below 1 on the correct
    gradient and far below 1 (the flip is :math:`10^6` tolerances) on the bug.
    """
    out = []
    for end in ("rounding", "threshold"):
        p = recipe_problem(end, ctx.spawn(end).rng, ctx.xp)
        if control:
            v = textbook_recipe(p.f, p.grad, p.x)
            if end == "rounding":
                residual = 100.0 / v.drop if v.drop is not None else 0.0
                how = f"recipe: E(h) = {v.error:.2g} > h, then E(h/10) = {v.error_shrunk:.2g}: verdict {v.verdict}" if v.drop \
                    else f"recipe: E(h) = {v.error:.2g} <= h: accepted"  # fmt: skip
            else:
                residual = v.h / v.error if v.error > 0 else math.inf
                how = f"recipe: E(h) = {v.error:.2g} vs threshold h = {v.h:g}: verdict {v.verdict}"
            out.append(Measurement(residual, 1.0, None, f"{p.name}; {how}"))
            continue
        r = check_gradient(p.f, p.grad, p.x)
        if end == "rounding":
            residual = r.max_ratio if r.passed else math.nan
            how = f"check_gradient: max error/tolerance {r.max_ratio:.3g}, passed={r.passed}"
        else:
            pos = int(np.flatnonzero(r.entries == p.flipped)[0])
            named = r.bugs.tolist() == [p.flipped]
            residual = float(r.tolerance[pos] / r.relative_error[pos]) if named else math.nan
            how = f"check_gradient: bugs {r.bugs.tolist()}, entry {p.flipped} at {1 / residual:.3g} tolerances"
        out.append(Measurement(residual, 1.0, None, f"{p.name}; {how}"))
    return out
