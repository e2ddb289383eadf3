r"""Order of convergence from errors on a geometric ladder of steps, with a derived tolerance.

A method of order p has error :math:`e(h) = C h^p (1 + c h^q + \dots)`. On the
ladder :math:`h_i = h_{\max}/r^i` the successive log-log slopes

.. math::

    s_i = \frac{\log(e_i/e_{i+1})}{\log(h_i/h_{i+1})}
        = p + K r^{-q i} + \dots

drift towards p geometrically, by the factor :math:`r^{-q}` per rung. One
Richardson step on the slopes removes the leading drift,

.. math::

    \hat p = s_n + \frac{s_n - s_{n-1}}{r^q - 1},

and the size of that correction bounds what is left (see :func:`fit_order`), so
the tolerance of "the observed order is p" is derived from the ladder itself
rather than set as a fixed band.

How to place a control
----------------------
The registry asks a control to miss its tolerance by at least 10x. A fixed band
of 0.1 around the claimed order against a control one order away misses by
exactly 10x: on the margin, so a slightly curved ladder flips the verdict. With
the derived tolerance here the band is the ladder's own drift (typically
1e-3 ... 1e-2 on a ladder reaching :math:`h\lambda \le 0.2 / 2^4`). A control
whose true order differs by one whole order has residual at least
:math:`1 - \tau` against a tolerance :math:`\tau` of its own, so it misses by
:math:`(1 - \tau)/\tau`: 10x once :math:`\tau \le 1/11`, 100x once
:math:`\tau \le 1/101`. A short or coarse ladder (3 rungs from
:math:`h\lambda \approx 0.2`) can leave :math:`\tau \approx 0.1`: add rungs
until the drift is small. Place the control so that

* its true order differs from the claimed one by at least 1 (a wrong
  coefficient that leaves a lower-order term, not a perturbation of size
  :math:`h^{p+1}` that only bends the ladder), and
* it is measured on the same ladder, with its own fit: its tolerance comes from
  its own drift, so a control cannot pass by borrowing a loose band.

Rounding
--------
Slopes mean nothing once the errors reach the rounding floor (the error a
computation makes with no truncation at all, e.g. :math:`\epsilon |f|/h` for a
difference quotient). :func:`fit_order` refuses a ladder whose smallest error is
within ``floor_margin`` (default 100) of that floor, and widens the tolerance by
the slope noise the floor can still cause above it.

Noisy errors
------------
Where rounding itself is the error (the left arm of a difference quotient's
"V", :math:`\epsilon|f|/h`), successive slopes are useless: each error is a
random variable. :func:`fit_noisy_slope` fits the slope of
:math:`\log e` on :math:`\log h` by least squares over many rungs, each error
itself a root mean square over many independent points, and holds it to a
statistical tolerance: a Student-t quantile times the slope's standard error
estimated from the scatter of the fit. A control there must also be off by a
whole order (a constant error, slope 0, against a claimed -1): its residual is
then about 1 against a tolerance of a few standard errors.

Everything here is plain floats on the host: the errors are a handful of
scalars, whatever backend produced them. The t quantile is SciPy's
(``scipy.stats.t``), NumPy-only like the rest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gc_theory.core.validation import check_int, check_positive, check_real, host_vector
from .measurement import Measurement

__all__ = ["NoisySlopeFit", "OrderFit", "fit_noisy_slope", "fit_order", "geometric_ladder", "noisy_slope_measurement", "order_measurement", "successive_slopes"]

_EPS = float(np.finfo(np.float64).eps)
# Relative spread allowed between the ratios h_i/h_{i+1} of one ladder: steps are
# computed as h_max / r**i in floating point, which is exact to a few ulps.
_LADDER_RTOL = 1e-9


def geometric_ladder(h_max: float, n: int, ratio: float = 2.0) -> np.ndarray:
    """The steps :math:`h_i = h_{\\max}/r^i`, i = 0 .. n-1 (decreasing).

    Parameters
    ----------
    h_max : float
        The largest step, > 0.
    n : int
        Number of rungs, >= 3 (two slopes, one drift).
    ratio : float
        r > 1, the factor between consecutive steps.

    Returns
    -------
    numpy.ndarray
        float64 steps, largest first.
    """
    h_max = check_positive(h_max, "h_max")
    n = check_int(n, "n", minimum=3)
    ratio = check_real(ratio, "ratio", low=1.0, low_open=True)
    return h_max / ratio ** np.arange(n, dtype=np.float64)


def _as_positive_vector(values: Any, name: str) -> np.ndarray:
    return host_vector(values, name, positive=True)


def _ladder(steps: Any, errors: Any) -> tuple[np.ndarray, np.ndarray]:
    h = _as_positive_vector(steps, "steps")
    e = _as_positive_vector(errors, "errors")
    if h.shape != e.shape:
        raise ValueError(f"errors must have one entry per step ({h.size}), got {e.size}")
    if h.size < 3:
        raise ValueError(f"steps must have at least 3 rungs (two slopes and their drift), got {h.size}")
    if np.any(np.diff(h) >= 0):
        raise ValueError(f"steps must be strictly decreasing, got {h.tolist()}")
    return h, e


def _rounding_floor(value: Any, n: int) -> np.ndarray:
    if np.ndim(value) == 0:
        return np.full(n, check_real(value, "rounding_floor", low=0.0))
    floor = np.asarray(value, dtype=np.float64)
    if floor.shape != (n,) or not np.all(np.isfinite(floor) & (floor >= 0)):
        raise ValueError(f"rounding_floor must be a finite scalar >= 0 or one such value per step ({n}), got {value!r}")
    return floor


def successive_slopes(steps: Sequence[float] | np.ndarray, errors: Sequence[float] | np.ndarray) -> np.ndarray:
    r"""The log-log slopes :math:`s_i = \log(e_i/e_{i+1}) / \log(h_i/h_{i+1})` between neighbouring rungs.

    Parameters
    ----------
    steps : sequence of float
        Strictly decreasing positive steps (any ladder, not only geometric).
    errors : sequence of float
        The positive error measured at each step.

    Returns
    -------
    numpy.ndarray
        ``len(steps) - 1`` slopes, coarsest pair first.
    """
    h, e = _ladder(steps, errors)
    return np.diff(np.log(e)) / np.diff(np.log(h))


@dataclass(frozen=True)
class _LadderFit:
    """What every fit of this module keeps: the steps and errors it was fitted on, in the order given."""

    steps: tuple[float, ...]
    errors: tuple[float, ...]

    def _measurement(self, fitted: float, expected: float, tolerance: float, where: str, detail: str) -> Measurement:
        return Measurement(abs(fitted - expected), tolerance, None, f"{detail}: {where}" if detail else where)


@dataclass(frozen=True)
class OrderFit(_LadderFit):
    """The order observed on a ladder, and the tolerance it can be held to.

    Attributes
    ----------
    steps, errors, slopes : tuple of float
        The ladder, the errors on it and the successive slopes (coarsest first).
    ratio : float
        r, the common ratio of the ladder.
    order : float
        The Richardson-corrected order :math:`\\hat p`.
    drift : float
        :math:`s_n - s_{n-1}`, the change of the last two slopes.
    tolerance : float
        The bound on :math:`|\\hat p - p|` derived in :func:`fit_order`.
    floor_margin : float
        min_i e_i / floor_i, how far the errors stay above the rounding floor
        (inf when no floor was given).
    """

    slopes: tuple[float, ...]
    ratio: float
    order: float
    drift: float
    tolerance: float
    floor_margin: float

    def measure(self, expected: float, detail: str = "") -> Measurement:
        """A :class:`Measurement` of "the observed order is `expected`": residual :math:`|\\hat p - p|`."""
        expected = check_real(expected, "expected")
        slopes = ", ".join(f"{s:.4f}" for s in self.slopes)
        where = (f"order {self.order:.4f} vs {expected:g}; slopes [{slopes}] on h = {self.steps[0]:.3g}"
                 f" / {self.ratio:g}^0..{len(self.steps) - 1}")
        return self._measurement(self.order, expected, self.tolerance, where, detail)


def fit_order(steps: Sequence[float] | np.ndarray, errors: Sequence[float] | np.ndarray, *,
              correction_order: float = 1.0, rounding_floor: float | Sequence[float] | np.ndarray = 0.0,
              floor_margin: float = 100.0) -> OrderFit:
    r"""Fit the order of convergence on a geometric ladder, with a tolerance derived from the slopes' drift.

    Parameters
    ----------
    steps : sequence of float
        A geometric ladder :math:`h_i = h_{\max}/r^i`, decreasing, at least 3 rungs
        (:func:`geometric_ladder`).
    errors : sequence of float
        The positive error at each step.
    correction_order : float
        q, the power of the leading relative correction, :math:`e = C h^p (1 + c h^q)`.
        The default 1 is the smallest correction an integer-order method can have;
        the tolerance below stays valid for any true q' >= q, so 1 is safe.
    rounding_floor : float or sequence of float
        The error rounding alone produces at each step (a scalar, or one per
        step): 0 when the errors are far from it by construction.
    floor_margin : float
        Refuse the ladder if some error is less than this multiple of its floor.

    Returns
    -------
    OrderFit

    Raises
    ------
    ValueError
        If the ladder is not geometric, an error is not finite and positive, or
        the errors come within `floor_margin` of the rounding floor.

    Notes
    -----
    Let the slopes be :math:`s_i = p + K r^{-q' i}` with :math:`q' \ge q`, and
    :math:`d = s_n - s_{n-1}`. Then :math:`\hat p = s_n + d/(r^q - 1)` has

    .. math::

        \frac{|\hat p - p|}{|d|}
          = \left|\frac{1}{r^{q'} - 1} - \frac{1}{r^q - 1}\right|
          \le \frac{1}{r^q - 1},

    zero when q' = q. That bound assumes one geometric term. Real ladders
    often carry two of opposite sign, :math:`s_i = p + K_1\rho^i + K_2\rho^{2i}`
    with :math:`\rho = r^{-q}`, and then the slopes turn (they overshoot p and
    come back), the last drift understates what is left, and a correct method
    fails at some seeds. One level up the same argument bounds it: the
    once-corrected estimates :math:`\hat p_i = s_i + (s_i - s_{i-1})/(r^q - 1)`
    are :math:`p - K_2 r^q \rho^{2i}`, so with
    :math:`d_2 = \hat p_n - \hat p_{n-1}` (three slopes or more)

    .. math::

        |\hat p - p| \le \frac{|d_2|}{r^{2q} - 1},

    which vanishes when the drift is one geometric term. Terms beyond these two
    are covered by a factor 2 on each:

    .. math::

        \tau = \frac{2 |d|}{r^q - 1} + \frac{2 |d_2|}{r^{2q} - 1}
             + \Bigl(1 + \frac{2}{r^q - 1}\Bigr) \frac{2\delta}{\log r}.

    The second term is the slope noise: a relative uncertainty :math:`\delta_i`
    in each error moves a slope by at most :math:`(\delta_i + \delta_{i+1})/\log r`,
    and the Richardson step amplifies it by :math:`1 + 2/(r^q - 1)`. Here
    :math:`\delta = \max_i (\mathrm{floor}_i/e_i + 4\epsilon|\log e_i|)`, the
    rounding floor relative to the error plus the rounding of the logarithms.
    """
    h, e = _ladder(steps, errors)
    q = check_positive(correction_order, "correction_order")
    margin = check_positive(floor_margin, "floor_margin")
    ratios = h[:-1] / h[1:]
    r = float(ratios[0])
    if np.any(np.abs(ratios / r - 1.0) > _LADDER_RTOL):
        raise ValueError(f"steps must form a geometric ladder h_max/r^i, got ratios {ratios.tolist()}")

    floor = _rounding_floor(rounding_floor, h.size)
    with np.errstate(divide="ignore"):
        above = np.where(floor > 0, e / np.where(floor > 0, floor, 1.0), np.inf)
    worst = int(np.argmin(above))
    if above[worst] < margin:
        raise ValueError(
            f"errors reach the rounding floor: {e[worst]:.3g} at h={h[worst]:.3g} is only {above[worst]:.3g}x the "
            f"floor {floor[worst]:.3g} (need >= {margin:g}x); raise h_max or use fewer rungs")

    slopes = np.diff(np.log(e)) / np.diff(np.log(h))
    d = float(slopes[-1] - slopes[-2])
    gain = r**q - 1.0
    order = float(slopes[-1]) + d / gain
    delta = float(np.max(floor / e + 4.0 * _EPS * np.abs(np.log(e))))
    # The turn of the once-corrected estimates: zero for a one-term drift (see Notes).
    d2 = float(order - (slopes[-2] + (slopes[-2] - slopes[-3]) / gain)) if slopes.size >= 3 else 0.0
    tolerance = (2.0 * abs(d) / gain + 2.0 * abs(d2) / (r ** (2 * q) - 1.0)
                 + (1.0 + 2.0 / gain) * 2.0 * delta / math.log(r))
    return OrderFit(steps=tuple(float(x) for x in h), errors=tuple(float(x) for x in e),
                    slopes=tuple(float(x) for x in slopes), ratio=r, order=order, drift=d,
                    tolerance=float(tolerance), floor_margin=float(above[worst]))


def order_measurement(steps: Sequence[float] | np.ndarray, errors: Sequence[float] | np.ndarray, expected: float, *,
                      correction_order: float = 1.0, rounding_floor: float | Sequence[float] | np.ndarray = 0.0,
                      floor_margin: float = 100.0, detail: str = "") -> Measurement:
    """A :class:`Measurement` of "the errors on this ladder converge with order `expected`".

    The residual is :math:`|\\hat p - p|`, the tolerance that of :func:`fit_order`
    (derived from the ladder's drift and rounding floor), scale None (a slope is
    not a rounding error). See the module docstring for placing its control.

    Examples
    --------
    >>> import numpy as np
    >>> h = geometric_ladder(0.1, 5)
    >>> fd = [abs((np.sin(1 + s) - np.sin(1 - s)) / (2 * s) - np.cos(1)) for s in h]
    >>> order_measurement(h, fd, 2).passed, order_measurement(h, fd, 1).passed
    (True, False)
    """
    fit = fit_order(steps, errors, correction_order=correction_order, rounding_floor=rounding_floor,
                    floor_margin=floor_margin)
    return fit.measure(expected, detail)


@dataclass(frozen=True)
class NoisySlopeFit(_LadderFit):
    r"""A least-squares log-log slope through noisy errors, and its statistical tolerance.

    Attributes
    ----------
    steps, errors : tuple of float
        The steps (decreasing) and the error at each.
    slope : float
        The least-squares slope of :math:`\log e` on :math:`\log h`.
    standard_error : float
        Its standard error, from the scatter of the fit (n - 2 degrees of freedom).
    tolerance : float
        :math:`t_{1 - \alpha/2,\,n-2}` times the standard error (:func:`fit_noisy_slope`).
    confidence : float
        :math:`1 - \alpha`.
    """

    slope: float
    standard_error: float
    tolerance: float
    confidence: float

    def measure(self, expected: float, detail: str = "") -> Measurement:
        r"""A :class:`Measurement` of "the slope is `expected`": residual :math:`|\hat s - s|`."""
        expected = check_real(expected, "expected")
        where = (f"slope {self.slope:.4f} +- {self.standard_error:.2g} (s.e.) vs {expected:g} over {len(self.steps)} steps "
                 f"h = {self.steps[-1]:.3g} .. {self.steps[0]:.3g}")
        return self._measurement(self.slope, expected, self.tolerance, where, detail)


def fit_noisy_slope(steps: Sequence[float] | np.ndarray, errors: Sequence[float] | np.ndarray, *,
                    confidence: float = 0.999) -> NoisySlopeFit:
    r"""Least-squares slope of log error on log step, with a tolerance from the scatter of the fit.

    Parameters
    ----------
    steps : sequence of float
        Strictly decreasing positive steps, at least 5 (3 degrees of freedom for the scatter).
    errors : sequence of float
        The positive error at each step; each should average many independent
        samples (a root mean square over points) so that its log is nearly Gaussian.
    confidence : float
        Two-sided confidence of the tolerance, in (0, 1).

    Returns
    -------
    NoisySlopeFit

    Notes
    -----
    With :math:`x_i = \log h_i`, :math:`y_i = \log e_i = a + s x_i + arepsilon_i`
    and independent :math:`arepsilon_i` of common variance, the least-squares
    slope has standard error
    :math:`\hat\sigma/\sqrt{\sum_i (x_i - ar x)^2}` with
    :math:`\hat\sigma^2 = \sum_i r_i^2/(n - 2)` from the residuals, and
    :math:`(\hat s - s)/\mathrm{se}` follows Student's t with n - 2 degrees of
    freedom. The tolerance :math:`t_{(1+c)/2,\,n-2}\,\mathrm{se}` is exceeded
    with probability 1 - c when the slope is s. A root mean square over N
    independent points has relative spread about :math:`1/\sqrt{2N}`
    (Gaussian samples), so 256 points give :math:`\hat\sigma pprox 0.04`.
    Systematic curvature (the other term of an error model leaking in) shows as
    scatter too and widens the tolerance, so keep the steps where one term
    dominates. Uses SciPy's t quantile: NumPy-only.
    """
    from scipy.stats import t as student_t

    h, e = _ladder(steps, errors)
    if h.size < 5:
        raise ValueError(f"steps must have at least 5 rungs (a slope and 3 degrees of freedom for its scatter), got {h.size}")
    c = check_real(confidence, "confidence", low=0.0, high=1.0, low_open=True, high_open=True)
    x, y = np.log(h), np.log(e)
    xc = x - x.mean()
    slope = float(np.sum(xc * (y - y.mean())) / np.sum(xc * xc))
    residuals = y - y.mean() - slope * xc
    se = float(math.sqrt(np.sum(residuals**2) / (h.size - 2) / np.sum(xc * xc)))
    quantile = float(student_t.ppf(0.5 + c / 2, h.size - 2))
    return NoisySlopeFit(tuple(float(v) for v in h), tuple(float(v) for v in e), slope, se, quantile * se, c)


def noisy_slope_measurement(steps: Sequence[float] | np.ndarray, errors: Sequence[float] | np.ndarray, expected: float, *,
                            confidence: float = 0.999, detail: str = "") -> Measurement:
    """A :class:`Measurement` of "the noisy errors on these steps fall with slope `expected`" (:func:`fit_noisy_slope`).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> h = np.geomspace(1e-6, 1e-8, 9)
    >>> e = 1e-16 / h * np.exp(0.03 * rng.standard_normal(9))
    >>> noisy_slope_measurement(h, e, -1).passed, noisy_slope_measurement(h, e, 0).passed
    (True, False)
    """
    return fit_noisy_slope(steps, errors, confidence=confidence).measure(expected, detail)
