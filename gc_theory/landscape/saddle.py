r"""Gradient descent near a saddle: the stable manifold, exact escape times, and escape under noise.

On the quadratic saddle :math:`f(x) = \tfrac12 \sum_i \lambda_i x_i^2` (eigenbasis
coordinates, some :math:`\lambda_i < 0`), gradient descent with step h acts on
each coordinate separately, :math:`x_i \leftarrow (1 - h\lambda_i)\, x_i`. Started on
the stable manifold (every unstable coordinate 0) it converges to the saddle;
started :math:`\delta` off it along the most unstable direction, that coordinate
grows by :math:`a = 1 + h|\lambda_{\min}|` per step and first reaches the radius r
after exactly

.. math::

    n(\delta) = \Bigl\lceil \frac{\log(r/\delta)}{\log(1 + h|\lambda_{\min}|)} \Bigr\rceil

steps. With noise, :math:`x \leftarrow (I - h\Lambda)x + \sigma\xi`, the unstable
coordinate after k steps is :math:`a^k \sigma S_k` with :math:`S_k \to S \sim
\mathcal N(0, 1/(a^2 - 1))`, so the escape time is
:math:`\log(r/(\sigma|S|))/\log a`: its mean grows like
:math:`\log(1/\sigma)/\log a`, a slope of :math:`1/\log a` against :math:`\log(1/\sigma)`.

A *plateau* is a region where the gradient is tiny. On the ramp
:math:`L(x) = -s x`, :math:`0 \le x \le W`, plain gradient descent moves
:math:`\eta s` per step and needs :math:`\lceil W/(\eta s)\rceil` steps, inversely
proportional to the gradient's scale s; Adam's step
:math:`\eta\,\hat m/(\sqrt{\hat v} + \epsilon) = \eta\, s/(s + \epsilon)` for a
constant gradient is nearly independent of s (:func:`steps_to_cross_plateau`).

The iterations run on any array-API namespace; noise is drawn from a seeded
NumPy generator and moved with ``asarray``.

References
----------
.. [1] R. Ge, F. Huang, C. Jin and Y. Yuan, "Escaping from saddle points: online
   stochastic gradient for tensor decomposition", COLT 2015.
.. [2] J. D. Lee, M. Simchowitz, M. I. Jordan and B. Recht, "Gradient descent
   only converges to minimizers", COLT 2016.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from gc_theory.core.validation import check_finite_floating, check_int, check_nonnegative, check_positive
from gc_theory.core.backend import to_numpy
from gc_theory.optim import Optimizer

__all__ = ["EscapeTimes", "escape_step", "noisy_escape_steps", "predicted_escape_step", "steps_to_cross_plateau"]


def _unstable(eigenvalues: Any) -> tuple[Any, int]:
    xp = check_finite_floating(eigenvalues, "eigenvalues")
    if eigenvalues.ndim != 1:
        raise ValueError(f"eigenvalues must be a 1-D array, got shape {tuple(eigenvalues.shape)}")
    index = int(xp.argmin(eigenvalues))
    if not float(eigenvalues[index]) < 0.0:
        raise ValueError("eigenvalues must include a negative one (a saddle), got none below 0")
    return xp, index


def predicted_escape_step(delta: float, radius: float, h: float, lambda_min: float) -> int:
    r""":math:`\lceil \log(r/\delta)/\log(1 + h|\lambda_{\min}|)\rceil` (0 when :math:`\delta \ge r`)."""
    delta, radius, h = check_positive(delta, "delta"), check_positive(radius, "radius"), check_positive(h, "h")
    lambda_min = float(lambda_min)
    if not lambda_min < 0.0:
        raise ValueError(f"lambda_min must be negative, got {lambda_min}")
    return max(0, math.ceil(math.log(radius / delta) / math.log1p(h * abs(lambda_min))))


def escape_step(eigenvalues: Any, x0: Any, h: float, radius: float, *, max_steps: int = 10_000) -> int:
    """First k with :math:`|x_k|` along the most unstable direction :math:`\\ge` `radius` (`max_steps` + 1 if never)."""
    xp, index = _unstable(eigenvalues)
    check_finite_floating(x0, "x0")
    if tuple(x0.shape) != tuple(eigenvalues.shape):
        raise ValueError(f"x0 must have the shape of eigenvalues {tuple(eigenvalues.shape)}, got {tuple(x0.shape)}")
    h, radius = check_positive(h, "h"), check_positive(radius, "radius")
    max_steps = check_int(max_steps, "max_steps", minimum=0)
    contraction = 1.0 - h * eigenvalues
    x = x0
    for k in range(max_steps + 1):
        if abs(float(x[index])) >= radius:
            return k
        x = contraction * x
    return max_steps + 1


class EscapeTimes(NamedTuple):
    """Escape steps of independent noisy runs: their mean, its standard error, and how many never escaped."""

    mean: float
    standard_error: float
    runs: int
    stuck: int


def noisy_escape_steps(eigenvalues: Any, sigma: float, h: float, radius: float, runs: int,
                       rng: np.random.Generator, *, max_steps: int = 10_000) -> EscapeTimes:
    r"""Noisy GD :math:`x \leftarrow (I - h\Lambda)x + \sigma\xi` from the saddle, `runs` chains at once.

    Returns the mean number of steps until the most unstable coordinate first
    reaches `radius`, and its standard error :math:`\mathrm{sd}/\sqrt{R}`.
    """
    xp, index = _unstable(eigenvalues)
    sigma = check_nonnegative(sigma, "sigma")
    h, radius = check_positive(h, "h"), check_positive(radius, "radius")
    runs = check_int(runs, "runs", minimum=2)
    max_steps = check_int(max_steps, "max_steps", minimum=1)
    n = int(eigenvalues.shape[0])
    dtype, device = eigenvalues.dtype, getattr(eigenvalues, "device", None)
    contraction = 1.0 - h * eigenvalues
    x = xp.zeros((runs, n), dtype=dtype, device=device)
    escaped_at = np.full(runs, -1)
    for k in range(1, max_steps + 1):
        x = contraction * x + sigma * xp.asarray(rng.standard_normal((runs, n)), dtype=dtype, device=device)
        out = to_numpy(xp.abs(x[:, index]) >= radius)  # R booleans for the count
        escaped_at[(escaped_at < 0) & out] = k
        if np.all(escaped_at >= 0):
            break
    done = escaped_at[escaped_at >= 0].astype(np.float64)
    stuck = int(np.sum(escaped_at < 0))
    if done.size < 2:
        return EscapeTimes(math.inf, math.inf, runs, stuck)
    return EscapeTimes(float(done.mean()), float(done.std(ddof=1) / math.sqrt(done.size)), runs, stuck)


def steps_to_cross_plateau(optimizer: Optimizer, scale: float, width: float, *, xp: Any = None,
                           dtype: Any = "float64", max_steps: int = 10_000) -> int:
    r"""Steps of `optimizer` (from :mod:`gc_theory.optim`) to cross the ramp :math:`L(x) = -s x` from 0 to `width`.

    The gradient is the constant :math:`-s` (`scale`) everywhere on the ramp.
    Returns `max_steps` + 1 if the optimiser has not crossed by then.
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a gc_theory.optim optimiser, got {type(optimizer).__name__}")
    scale, width = check_positive(scale, "scale"), check_positive(width, "width")
    max_steps = check_int(max_steps, "max_steps", minimum=1)
    from gc_theory.core.backend import get_namespace, resolve_dtype

    xp = get_namespace() if xp is None else xp
    dt = resolve_dtype(xp, dtype)
    params = {"x": xp.zeros(1, dtype=dt)}
    grads = {"x": xp.full(1, -scale, dtype=dt)}
    state = optimizer.init(params)
    for k in range(1, max_steps + 1):
        params, state = optimizer.step(params, grads, state)
        if float(params["x"][0]) >= width:
            return k
    return max_steps + 1
