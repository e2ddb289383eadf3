r"""The error model of finite differences and the step it recommends.

A difference quotient with step h makes two errors: truncation (the Taylor
terms it drops) and rounding (f is known only to about :math:`\epsilon_f`,
so a difference of two values is uncertain by about :math:`2\epsilon_f`).
With :math:`M_k` the size of the k-th derivative of f along the step,

=================  ===========================================  ===============================  =================================
method             error bound :math:`E(h)`                     best step :math:`h^*`            error there :math:`E(h^*)`
=================  ===========================================  ===============================  =================================
forward            :math:`M_2 h/2 + 2\epsilon_f/h`               :math:`2\sqrt{\epsilon_f/M_2}`   :math:`2\sqrt{\epsilon_f M_2}`
central            :math:`M_3 h^2/6 + \epsilon_f/h`              :math:`(3\epsilon_f/M_3)^{1/3}`  :math:`1.5\,\epsilon_f/h^*`
Richardson         :math:`M_5 h^4/480 + 3\epsilon_f/h`           :math:`(360\epsilon_f/M_5)^{1/5}` :math:`3.75\,\epsilon_f/h^*`
complex step       :math:`M_3 h^2/6 + \epsilon |f'|`             any tiny h                       :math:`\epsilon |f'|`
=================  ===========================================  ===============================  =================================

with :math:`\epsilon_f = \epsilon\,|f(x)|` (f computed to about one rounding
error per evaluation, relative). Richardson here is
:math:`R(h) = (4D(h/2) - D(h))/3` on the central difference D; its rounding
is :math:`(4\cdot 2 + 1)/3 = 3` times that of D(h).

The derivative size :math:`M_k` is not known in advance: it is *estimated
numerically* by a difference stencil at a pilot step along a few probe
coordinates (:func:`estimate_derivative`), and along one random direction
through all coordinates, scaled by :math:`1/\sqrt n`, which sees the
coordinates with large derivatives that the probes miss; the larger is used.
The rounding level :math:`\epsilon_f` is the larger of :math:`\epsilon|f(x)|`
and a measurement by sixth differences at a tiny spacing (Moré & Wild 2011). A stencil cannot see a derivative
smaller than its own rounding error; below that floor the floor is used, which
caps :math:`h^*` at the pilot step instead of letting it grow without bound
(a quadratic f has :math:`M_3 = 0` and any step is then exact).

Steps are relative: entry i moves by :math:`h\,\sigma_i` with
:math:`\sigma_i = \max(|x_i|, 1)`, so that h is "scaled by |x|" and the
derivatives above are taken in the scaled coordinate :math:`t = (x_i - x_i^0)/\sigma_i`.

References
----------
.. [1] P. E. Gill, W. Murray, M. H. Wright, *Practical Optimization*,
   Academic Press, 1981, Sec. 8.6 (finite-difference intervals).
.. [2] J. N. Lyness, C. B. Moler, "Numerical differentiation of analytic
   functions", SIAM J. Numer. Anal. 4 (1967) (complex step); W. Squire,
   G. Trapp, "Using complex variables to estimate derivatives of real
   functions", SIAM Review 40 (1998).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..backend import to_numpy
from ._evaluate import describe_entry

__all__ = [
    "METHODS",
    "RESOLUTION",
    "displaced",
    "error_parts",
    "StepModel",
    "derivative_order",
    "estimate_derivative",
    "model_error",
    "optimal_step",
    "pilot_step",
    "stencil_offsets",
]

METHODS = ("forward", "central", "richardson", "complex")

#: A check counts as conclusive only if it would catch an error of this fraction of the
#: gradient's largest entry (1%): at a step whose own error is larger, a 1% bug, or even a
#: sign flip at a coarse enough step, looks like a correct gradient. A float64 check at the
#: error-model step sees about 1e-9 of the largest entry; a float32 one about 1e-3.
RESOLUTION = 1e-2

#: The derivative whose size sets each method's truncation error.
_ORDER = {"forward": 2, "central": 3, "richardson": 5, "complex": 3}
#: Rounding amplification of each derivative stencil below: sum |w_k| / 2 (as a multiple of eps_f / s^k).
_STENCILS: dict[int, tuple[tuple[float, ...], tuple[float, ...], float]] = {
    # order: (offsets in units of s, weights, divisor); derivative ~ sum w_k f(x + o_k s) / (divisor s^order)
    2: ((-1.0, 0.0, 1.0), (1.0, -2.0, 1.0), 1.0),
    3: ((-2.0, -1.0, 1.0, 2.0), (-1.0, 2.0, -2.0, 1.0), 2.0),
    5: ((-3.0, -2.0, -1.0, 1.0, 2.0, 3.0), (-1.0, 4.0, -5.0, 5.0, -4.0, 1.0), 2.0),
}


def displaced(xp: Any, flat: Any, steps: Any, shape: tuple[int, ...], signs: tuple[float, ...]) -> tuple[Any, ...]:
    """The points x_i + sign*step_i in x's dtype, one per sign: the one spacing rule of every checker.

    A step must move every entry: where ``x_i + step_i`` rounds back to x_i in
    x's dtype the difference quotient is 0/0 or measures nothing, so that is a
    ValueError naming the entry, whichever function was called.
    """
    out = []
    for sign in signs:
        moved = xp.astype(xp.astype(flat, xp.float64) + sign * steps, flat.dtype)
        same = moved == flat
        if bool(xp.any(same)):
            i = int(xp.argmax(xp.astype(same, xp.int8)))
            host_x, host_h = float(to_numpy(flat)[i]), float(to_numpy(steps)[i])
            raise ValueError(
                f"h is below the spacing of x at {describe_entry(shape, i)}: x = {host_x!r}, the step there is "
                f"{host_h:.3g}, and x {'+' if sign > 0 else '-'} step rounds back to x in {flat.dtype}; "
                "use a larger h (or h=None)"
            )
        out.append(moved)
    return tuple(out)


def derivative_order(method: str) -> int:
    """k such that the method's truncation error is set by the k-th derivative."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    return _ORDER[method]


def stencil_offsets(order: int) -> tuple[float, ...]:
    """Offsets (in units of the pilot step) at which the k-th derivative stencil evaluates f."""
    return _STENCILS[order][0]


def pilot_step(order: int, eps: float) -> float:
    r"""Pilot step of the k-th derivative stencil: :math:`\epsilon^{1/(k+2)}`.

    The stencil's truncation is :math:`O(s^2)` and its rounding
    :math:`O(\epsilon_f/s^k)`, so :math:`s \sim \epsilon^{1/(k+2)}` balances them
    for a function whose derivatives are of the size of f.
    """
    return eps ** (1.0 / (order + 2))


def estimate_derivative(values: dict[float, Any], order: int, s: float, noise: Any) -> tuple[Any, Any]:
    r"""Estimate :math:`|f^{(k)}|` from stencil values, and the stencil's rounding floor.

    Parameters
    ----------
    values : dict
        ``{offset: f(x + offset*s)}`` for the offsets of :func:`stencil_offsets`
        (floats, or arrays for many independent points at once).
    order : int
        k = 2, 3 or 5.
    s : float
        The pilot step.
    noise : float or array
        :math:`\epsilon_f`, the rounding level of f.

    Returns
    -------
    estimate, floor
        :math:`|f^{(k)}|` as measured, and :math:`\sum_k |w_k|\epsilon_f/(d\,s^k)`,
        the size a zero derivative can appear to have through rounding.
    """
    offsets, weights, divisor = _STENCILS[order]
    total = 0.0
    for o, w in zip(offsets, weights):
        total = total + w * values[o]
    estimate = abs(total) / (divisor * s**order)
    floor = sum(abs(w) for w in weights) * noise / (divisor * s**order)
    return estimate, floor


def optimal_step(method: str, M: Any, noise: Any) -> Any:
    """The step :math:`h^*` minimising the method's error bound (table in the module docstring)."""
    if method == "forward":
        return 2.0 * (noise / M) ** 0.5
    if method == "central":
        return (3.0 * noise / M) ** (1.0 / 3.0)
    if method == "richardson":
        return (360.0 * noise / M) ** 0.2
    raise ValueError(f"no error-model step for method {method!r}")


def error_parts(method: str, h: Any, M: Any, noise: Any) -> tuple[Any, Any]:
    """The two terms of the error bound at step h: (truncation, rounding) (table in the module docstring)."""
    if method == "forward":
        return M * h / 2.0, 2.0 * noise / h
    if method == "central":
        return M * h**2 / 6.0, noise / h
    if method == "richardson":
        return M * h**4 / 480.0, 3.0 * noise / h
    raise ValueError(f"no error model for method {method!r}")


def model_error(method: str, h: Any, M: Any, noise: Any) -> Any:
    """The error bound :math:`E(h)` of the method at step h: truncation plus rounding."""
    truncation, rounding = error_parts(method, h, M, noise)
    return truncation + rounding


@dataclass(frozen=True)
class StepModel:
    """The step a method was run with, and why.

    Attributes
    ----------
    method : str
        'forward', 'central', 'richardson' or 'complex'.
    h : float
        The relative step (entry i moves by ``h * max(|x_i|, 1)``); with
        ``relative=False`` the absolute step the caller gave (the largest, for
        an array of steps).
    M : float
        Estimated size of the derivative that sets the truncation error (in the
        scaled coordinate), floored at the probe's rounding level; NaN when not
        estimated.
    noise : float
        :math:`\\epsilon_f`, the assumed rounding level of f's values.
    predicted_error : float
        :math:`E(h)` in the scaled coordinate: the error bound of one
        derivative entry times :math:`\\sigma_i`.
    evaluations : int
        Evaluations of f spent choosing the step.
    chosen : bool
        True when h came from the error model, False when the caller gave it.
    relative : bool
        Whether `h` is relative (scaled by ``max(|x_i|, 1)``) or absolute.
    """

    method: str
    h: float
    M: float
    noise: float
    predicted_error: float
    evaluations: int = 0
    chosen: bool = True
    relative: bool = True

    def __str__(self) -> str:
        how = "error-model step" if self.chosen else "step given"
        text = f"{self.method}, {how} h = {self.h:.3g} ({'relative' if self.relative else 'absolute'})"
        if math.isfinite(self.M):
            text += f", M = {self.M:.3g}"
        if math.isfinite(self.noise):
            text += f", noise = {self.noise:.3g}"
        if math.isfinite(self.predicted_error):
            text += f", predicted error {self.predicted_error:.3g}"
        return text
