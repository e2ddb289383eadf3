"""Estimating the error model's inputs at x: the derivative size M and the rounding level of f.

See :mod:`gc_theory.gradcheck.steps` for the model; here are the stencils that
measure M (along a few probe coordinates and one random direction) and the
noise (sixth differences at a tiny spacing).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .._validation import check_int
from ..backend import finfo_eps, to_numpy
from ._evaluate import CountedFunction
from ._sweep import Sweep
from .steps import StepModel, derivative_order, estimate_derivative, model_error, optimal_step, pilot_step, stencil_offsets

__all__ = ["NOISE_PROBES", "checked_probes", "directional_derivative", "flat_indices", "measured_noise", "probe_model"]


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
