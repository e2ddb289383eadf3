r"""The error model of finite differences: the step it recommends, the tolerance it derives, and its inputs.

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

Where each piece lives here: the table above is :func:`model_error` and
:func:`optimal_step`; :func:`scales` is :math:`\sigma`; :func:`probe_model`
estimates :math:`M_k` (:func:`estimate_derivative` on the stencils of
:func:`stencil_offsets` at :func:`pilot_step`, and
:func:`directional_derivative`) and :math:`\epsilon_f` (:func:`measured_noise`);
:func:`resolved_points` is the one rule on how small a step may be (it must
move x in its dtype). Every entry point of the checker uses these and no
other.

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
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from gc_theory.core.validation import check_int
from gc_theory.core.backend import finfo_eps, to_numpy
from ._evaluate import CountedFunction
from ._sweep import Sweep

__all__ = [
    "METHODS",
    "NOISE_PROBES",
    "StepModel",
    "checked_probes",
    "directional_derivative",
    "flat_indices",
    "measured_noise",
    "probe_model",
    "scales",
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


def scales(xp: Any, flat: Any) -> Any:
    """sigma_i = max(|x_i|, 1): steps and derivative sizes are relative to it."""
    return xp.maximum(xp.abs(xp.astype(flat, xp.float64)), xp.asarray(1.0, dtype=xp.float64))


# --- estimating M and the noise at x ---------------------------------------------------

def checked_probes(probes: Any, n: int) -> Any:
    """`probes` validated: a count >= 1, or a non-empty sequence of flat indices in [0, n)."""
    if isinstance(probes, numbers.Integral) and not isinstance(probes, (bool, np.bool_)):
        return check_int(probes, "probes", minimum=1)
    return flat_indices(probes, n, "probes")


def flat_indices(values: Any, n: int, name: str) -> np.ndarray:
    """A non-empty sequence (or array) of integer flat indices in [0, n), as int64; TypeError/ValueError naming `name`."""
    if isinstance(values, (bool, np.bool_, str, numbers.Number)) or not (hasattr(values, "__len__") or hasattr(values, "shape")):
        raise TypeError(f"{name} must be a sequence of flat indices, got {type(values).__name__} {values!r}")
    chosen = np.asarray(to_numpy(values) if hasattr(values, "shape") else values).reshape(-1)
    if chosen.size and chosen.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer flat indices, got dtype {chosen.dtype}")
    if chosen.size == 0 or chosen.min() < 0 or chosen.max() >= n:
        raise ValueError(f"{name} must be a non-empty sequence of flat indices in [0, {n}), got {chosen.tolist()[:8]}")
    return chosen.astype(np.int64)


def probe_model(fc: CountedFunction, sweep: Sweep, method: str, noise: float | None, probes: int, seed: int,
                 f0: Any) -> tuple[StepModel, Any]:  # fmt: skip
    """Estimate M along `probes` coordinates with a stencil at the pilot step; return the model and f(x)."""
    xp = sweep.xp
    eps = finfo_eps(sweep.dtype)
    order = derivative_order(method)
    s = pilot_step(order, eps)
    n = sweep.n
    rng = np.random.default_rng(seed)
    if isinstance(probes, (int, np.integer)):
        chosen = sorted(rng.choice(n, size=min(n, int(probes)), replace=False).tolist())
    else:
        chosen = sorted({int(i) for i in np.asarray(probes).reshape(-1)})
    flat = to_numpy(sweep.flat).astype(np.float64)
    sigma = np.maximum(np.abs(flat), 1.0)
    values: dict[float, list[Any]] = {}
    before = fc.evaluations
    for o in stencil_offsets(order):
        if o == 0.0:
            continue
        replaced = flat + o * s * sigma
        # Only the probe entries matter; the sweep evaluates exactly those.
        values[o] = _to_host(sweep.run(xp.asarray(replaced.astype(to_numpy(sweep.flat).dtype)), f"probe {o:+g}s", chosen))
    if f0 is None:
        f0 = sweep.single(sweep.base, "x (unperturbed)")
        if not fc.scalar:
            f0 = _to_host(f0)
    values[0.0] = np.asarray(f0) if not fc.scalar else np.full(len(chosen), float(f0))
    magnitude = max(float(np.max(np.abs(v))) for v in values.values())
    if noise is None:
        # f's values may be coarser than x (float32 values for float64 x): their rounding sets the level.
        value_eps = fc.value_eps(sweep.dtype)
        noise = value_eps * magnitude if magnitude > 0 else value_eps
        noise = max(noise, measured_noise(sweep, flat, sigma, seed, eps, values[0.0]))
    stacked = {o: _per_probe(v, len(chosen)) for o, v in values.items()}
    estimate, floor = estimate_derivative(stacked, order, s, noise)
    M = max(float(np.max(estimate)), float(floor), directional_derivative(fc, sweep, flat, sigma, order, s, noise, seed, f0))
    h = float(optimal_step(method, M, noise))
    model = StepModel(method, h, M, float(noise), float(model_error(method, h, M, noise)), fc.evaluations - before,
                      magnitude=magnitude)  # fmt: skip
    return model, f0


def directional_derivative(fc: CountedFunction, sweep: Sweep, flat: np.ndarray, sigma: np.ndarray, order: int,
                            s: float, noise: float, seed: int, f0: Any) -> float:  # fmt: skip
    r"""The k-th derivative along one random direction :math:`u = \pm\sigma`, divided by :math:`\sqrt n`.

    Coordinate probes see a few entries, and derivative sizes across a
    network's parameters are heavy-tailed (the largest is often 100x the
    median), so they tend to miss the largest. A random direction moves every
    entry: for :math:`f = \sum_i\varphi_i(x_i)` its k-th derivative is a
    random-sign sum of the n coordinate ones, of size :math:`\sqrt n` times their
    root mean square, and coupled terms only add to it. Dividing by
    :math:`\sqrt n` gives a size that the probes' maximum is compared with; 0
    when the stencil cannot tell the derivative from rounding.
    """
    if not fc.scalar or sweep.n < 2:
        return 0.0
    rng = np.random.default_rng(seed + 7)
    u = np.where(rng.random(flat.size) < 0.5, -1.0, 1.0) * sigma
    dtype = to_numpy(sweep.flat).dtype
    values = {}
    for o in stencil_offsets(order):
        if o == 0.0:
            values[o] = float(f0)
            continue
        point = sweep.xp.reshape(sweep.xp.asarray((flat + o * s * u).astype(dtype)), sweep.shape)
        values[o] = sweep.single(point, f"x {o:+g}*s*u (derivative-size probe along a random direction)")
    estimate, floor = estimate_derivative(values, order, s, noise)
    return float(estimate) / math.sqrt(sweep.n) if estimate > floor else 0.0


#: Random directions along which the rounding noise of f is measured (6 evaluations each).
NOISE_PROBES = 2
_BINOMIAL_6 = np.array([1.0, -6.0, 15.0, -20.0, 15.0, -6.0, 1.0])


def measured_noise(sweep: Sweep, flat: np.ndarray, sigma: np.ndarray, seed: int, eps: float, f0: Any) -> float:
    r"""The rounding noise of f, measured by sixth differences at a tiny spacing (Hamming's table).

    Along a random direction :math:`u_i = \pm\sigma_i` (every entry moves, so
    every intermediate result of f rounds differently) at spacing
    :math:`\delta = 64\epsilon` (a few dozen units in the last place of x, so
    that a kink is rarely crossed), the smooth part of f contributes
    :math:`f^{(6)}\delta^6`, far below rounding, while independent rounding
    errors of standard deviation :math:`\sigma` give the sixth difference a
    variance of :math:`\binom{12}{6}\sigma^2 = 924\sigma^2` (Moré & Wild,
    "Estimating computational noise", SIAM J. Sci. Comput. 33, 2011). The
    root mean square over NOISE_PROBES directions estimates :math:`\sigma`;
    it is returned as :math:`\epsilon_f = 4\hat\sigma` (a two-sigma bound on
    each value, doubled as in the model's convention
    :math:`\epsilon_f = \epsilon|f|`, twice the unit roundoff). f with
    cancellation (sums of terms of both signs) is noisier than
    :math:`\epsilon|f|`; this catches it.
    """
    if not sweep.fc.scalar or NOISE_PROBES < 1:
        return 0.0
    delta = 64 * eps
    rng = np.random.default_rng(seed + 104729)
    dtype = to_numpy(sweep.flat).dtype
    base = float(f0[0]) if np.ndim(f0) else float(f0)
    sixths = []
    for _ in range(NOISE_PROBES):
        u = np.where(rng.random(flat.size) < 0.5, -1.0, 1.0) * sigma
        values = []
        for k in (-3, -2, -1, 0, 1, 2, 3):
            if k == 0:
                values.append(base)
                continue
            point = sweep.xp.reshape(sweep.xp.asarray((flat + k * delta * u).astype(dtype)), sweep.shape)
            values.append(sweep.single(point, f"x + {k:+d}*{delta:.2g}*u (noise probe)"))
        sixths.append(float(_BINOMIAL_6 @ np.asarray(values, dtype=np.float64)))
    return 4.0 * float(np.sqrt(np.mean(np.square(sixths)) / 924.0))


def _per_probe(v: Any, count: int) -> np.ndarray:
    """Reduce stencil values to one number per probe (the largest over f's outputs)."""
    arr = np.asarray(v, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(count, float(arr))
    return arr.reshape(arr.shape[0], -1) if arr.shape[0] == count else np.broadcast_to(arr.reshape(1, -1), (count, arr.size))


def _to_host(v: Any) -> np.ndarray:
    return v if isinstance(v, np.ndarray) else to_numpy(v)
