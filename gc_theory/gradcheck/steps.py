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

__all__ = [
    "METHODS",
    "StepModel",
    "derivative_order",
    "estimate_derivative",
    "model_error",
    "optimal_step",
    "pilot_step",
    "resolved_points",
    "stencil_offsets",
]

METHODS = ("forward", "central", "richardson", "complex")

#: The derivative whose size sets each method's truncation error.
_ORDER = {"forward": 2, "central": 3, "richardson": 5, "complex": 3}
#: Rounding amplification of each derivative stencil below: sum |w_k| / 2 (as a multiple of eps_f / s^k).
_STENCILS: dict[int, tuple[tuple[float, ...], tuple[float, ...], float]] = {
    # order: (offsets in units of s, weights, divisor); derivative ~ sum w_k f(x + o_k s) / (divisor s^order)
    2: ((-1.0, 0.0, 1.0), (1.0, -2.0, 1.0), 1.0),
    3: ((-2.0, -1.0, 1.0, 2.0), (-1.0, 2.0, -2.0, 1.0), 2.0),
    5: ((-3.0, -2.0, -1.0, 1.0, 2.0, 3.0), (-1.0, 4.0, -5.0, 5.0, -4.0, 1.0), 2.0),
}


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


def model_error(method: str, h: Any, M: Any, noise: Any) -> Any:
    """The error bound :math:`E(h)` of the method at step h (table in the module docstring)."""
    if method == "forward":
        return M * h / 2.0 + 2.0 * noise / h
    if method == "central":
        return M * h**2 / 6.0 + noise / h
    if method == "richardson":
        return M * h**4 / 480.0 + 3.0 * noise / h
    raise ValueError(f"no error model for method {method!r}")


@dataclass(frozen=True)
class StepModel:
    """The step a method was run with, and why.

    Attributes
    ----------
    method : str
        'forward', 'central', 'richardson' or 'complex'.
    h : float
        The relative step (entry i moves by ``h * max(|x_i|, 1)``) when chosen by
        the model; the absolute step the caller gave (the largest, for an array) otherwise.
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
    magnitude : float
        The largest :math:`|f|` seen while probing (NaN when not probed).
    """

    method: str
    h: float
    M: float
    noise: float
    predicted_error: float
    evaluations: int = 0
    chosen: bool = True
    magnitude: float = math.nan

    @property
    def resolved(self) -> bool:
        r"""False when f's values at neighbouring representable points of x differ as much as f itself.

        The noise is measured at a spacing of a few dozen units in the last
        place of x; smooth f changes there by :math:`O(\epsilon|f|)`. A noise
        level of the size of :math:`|f|` means f oscillates on a scale below the
        spacing of x (sin at :math:`|x| \sim 10^{20}`, where one unit in the
        last place exceeds its period): no step can see its derivative.
        """
        return not (self.noise >= self.magnitude > 0)

    def __str__(self) -> str:
        how = "error-model step" if self.chosen else "step given"
        unit = "relative" if self.chosen else "absolute"
        return (f"{self.method}, {how} h = {self.h:.3g} ({unit}), M = {self.M:.3g}, "
                f"noise = {self.noise:.3g}, predicted error {self.predicted_error:.3g}")  # fmt: skip


def resolved_points(xp: Any, flat: Any, steps: Any, signs: tuple[float, ...] = (1.0, -1.0),
                    describe: Any = None) -> tuple[Any, ...]:  # fmt: skip
    r"""The points :math:`\mathrm{fl}(x_i \pm h_i)` in x's dtype, refusing a step below the spacing of x.

    The one spacing rule of every entry point: where :math:`h_i \ne 0` and
    :math:`\mathrm{fl}(x_i + s h_i) = x_i` the difference quotient divides
    0 by 0 (or, with the displacement taken as :math:`h_i`, measures nothing),
    and a check built on it would pass any gradient. Entries with
    :math:`h_i = 0` (a direction restricted to a group) are not moved and not
    checked.

    Parameters
    ----------
    xp : namespace
    flat : array
        x, flat, in its own dtype.
    steps : array
        Absolute steps, float64, broadcastable to `flat`.
    signs : tuple of float
        The multiples of the step to take (+1, -1, or +2 for a wider stencil).
    describe : callable, optional
        ``describe(i) -> str`` names flat index i in the error message.

    Raises
    ------
    ValueError
        Naming the entry, x_i and h_i, where a nonzero step rounds back to x.
    """
    out = []
    x64 = xp.astype(flat, xp.float64)
    for sign in signs:
        moved = xp.astype(x64 + sign * steps, flat.dtype)
        same = (moved == flat) & (steps != 0)
        if bool(xp.any(same)):
            i = int(xp.argmax(xp.astype(same, xp.int8)))
            host_h = to_numpy(xp.broadcast_to(steps, flat.shape))
            where = describe(i) if describe is not None else f"entry {i}"
            raise ValueError(
                f"h is below the spacing of x at {where}: x = {float(to_numpy(flat)[i])!r}, h = {abs(sign) * float(host_h[i]):.3g}, "
                f"and x {'+' if sign > 0 else '-'} h rounds back to x in {flat.dtype}; use a larger h (or h=None)"
            )
        out.append(moved)
    return tuple(out)
