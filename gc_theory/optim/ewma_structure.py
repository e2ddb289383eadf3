r"""The structure of the EWMA: its impulse response, the weight of its recent window, and bias correction done right.

The average :math:`v_t = \beta v_{t-1} + (1-\beta) x_t`, :math:`v_0 = 0`
(:class:`gc_theory.optim.EWMA`), is the linear filter

.. math:: v_t = \sum_{k=0}^{t-1} (1-\beta)\beta^k\, x_{t-k},

so an impulse :math:`x_1 = c` reads :math:`(1-\beta)\beta^k c` at lag k, and
the last :math:`n = 1/(1-\beta)` inputs carry the weight

.. math:: \sum_{k<n}(1-\beta)\beta^k = 1 - \beta^{n} = 1 - \Bigl(1-\frac1n\Bigr)^{n}
          \;\longrightarrow\; 1 - e^{-1} \approx 0.632 \quad (\beta \to 1),

(0.75 at :math:`\beta = 0.5`, 0.6513 at 0.9, 0.6340 at 0.99). Bias correction
divides the *value* by :math:`1-\beta^t`, the sum of the weights, and leaves
the recursion alone: :math:`\hat v_t` is the weighted mean
:math:`\sum_k \beta^{t-k} x_k / \sum_k \beta^{t-k}` of any sequence.
Feeding the corrected value back into the recursion (correcting "in place")
is a different filter: on :math:`x_t = 1` at :math:`\beta = 0.9` it gives
1, 5.26, 17.8, ... instead of 1, 1, 1.

References
----------
.. [1] D. P. Kingma, J. Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, Sec. 3.
.. [2] S. Ruder, "An overview of gradient descent optimization algorithms", arXiv:1609.04747, Sec. 4.6.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from gc_theory.core.backend import array_namespace, dtype_name
from gc_theory.core.validation import check_unit_interval
from gc_theory.verify.measurement import Measurement
from gc_theory.verify.tolerances import gamma, unit_roundoff

from .ewma import EWMA

__all__ = ["corrected_sequence_measurement", "ewma_in_place", "ewma_values", "window_weight", "weights_measurement"]

U64 = 2.0**-53


def ewma_values(xs: Sequence[Any], beta: float, *, bias_correction: bool = False) -> list[Any]:
    """The values :math:`v_1, \\dots, v_t` (or :math:`\\hat v_t`) of :class:`EWMA` over the arrays `xs`."""
    avg = EWMA(beta, bias_correction=bias_correction)
    state, out = avg.init(xs[0]), []
    for x in xs:
        state = avg.update(state, x)
        out.append(avg.value(state))
    return out


def ewma_in_place(xs: Sequence[Any], beta: float) -> list[Any]:
    r"""The wrong recursion: the corrected value is fed back, :math:`v_t = \beta \hat v_{t-1} + (1-\beta)x_t`, :math:`\hat v_t = v_t/(1-\beta^t)`.

    Examples
    --------
    >>> import numpy as np
    >>> [round(float(v[0]), 2) for v in ewma_in_place([np.ones(1)] * 4, 0.9)]
    [1.0, 5.26, 17.85, 47.0]
    """
    beta = check_unit_interval(beta, "beta")
    xp = array_namespace(xs[0])
    v, out = xp.zeros_like(xs[0]), []
    for t, x in enumerate(xs, start=1):
        v = (beta * v + (1.0 - beta) * x) / (1.0 - beta**t)
        out.append(v)
    return out


def window_weight(beta: float) -> float:
    r""":math:`1 - \beta^n` with :math:`n = 1/(1-\beta)` rounded to an integer: the weight of the last n inputs.

    Examples
    --------
    >>> round(window_weight(0.9), 4), round(window_weight(0.99), 4)
    (0.6513, 0.634)
    """
    beta = check_unit_interval(beta, "beta")
    return 1.0 - beta ** round(1.0 / (1.0 - beta))


def _u_conv(dtype: Any) -> float:
    """The rounding of the Python-float coefficients beta, 1 - beta into the array's dtype (none in float64)."""
    return 0.0 if dtype_name(dtype) == "float64" else unit_roundoff(dtype)


def weights_measurement(c: Any, beta: float, lags: int | None = None, *, in_place: bool = False) -> list[Measurement]:
    r"""The impulse response at lags 0..`lags` (by default while :math:`\beta^k \ge 10^{-3}`, at most 20: the in-place control grows like 1/(1 - beta)^k and would overflow float32) and the weight of the last :math:`1/(1-\beta)` inputs, against the formulas.

    `c` is an array without zero entries (the impulse). ``in_place=True`` runs
    :func:`ewma_in_place` instead (the control).

    Notes
    -----
    The impulse enters once, :math:`v_1 = \mathrm{fl}((1-\beta)c)`, then each
    step is one multiplication by :math:`\beta` (adding :math:`(1-\beta)\cdot 0`
    is exact), so the value at lag k has relative error at most
    :math:`\gamma_{2(k+1)}`; rounding :math:`\beta` and :math:`1-\beta` to the
    dtype adds :math:`(k+1)u_c`, and the float64 reference
    :math:`(1-\beta)\beta^k` adds :math:`(k+2)u_{64}`. The window: after
    zeros, n ones give :math:`1-\beta^n`; each step rounds twice on values at
    most 1 and earlier errors are damped by :math:`\beta`, so the error is at
    most :math:`2\gamma_2/(1-\beta)`, plus :math:`u_c(n + 1/(1-\beta))` for the
    coefficients and :math:`n u_{64}` for the reference.
    """
    xp = array_namespace(c)
    if lags is None:
        # Past beta^k = 1e-3 the response is a thousandth of the impulse: nothing more to see, in any dtype.
        lags = min(20, math.floor(math.log(1e-3) / math.log(beta)))
    zero = xp.zeros_like(c)
    run = ewma_in_place if in_place else ewma_values
    values = run([c] + [zero] * lags, beta)
    u_c, out = _u_conv(c.dtype), []
    for k, v in enumerate(values):
        rel = float(xp.max(xp.abs(v / c - (1.0 - beta) * beta**k)))
        tol = gamma(2 * (k + 1), c.dtype) + (k + 1) * u_c + (k + 2) * U64
        out.append(Measurement(rel, tol, 1.0, f"beta={beta} impulse lag {k}"))
    n = round(1.0 / (1.0 - beta))
    ones = xp.ones_like(c)
    last = run([zero] * n + [ones] * n, beta)[-1]
    residual = float(xp.max(xp.abs(last - window_weight(beta))))
    tol = 2 * gamma(2, c.dtype) / (1.0 - beta) + u_c * (n + 1.0 / (1.0 - beta)) + n * U64
    out.append(Measurement(residual, tol, 1.0, f"beta={beta} weight of the last {n} inputs"))
    return out


def corrected_sequence_measurement(xs: Sequence[Any], beta: float, *, variant: str = "correct") -> Measurement:
    r"""Bias-corrected EWMA of a non-constant sequence against the weighted mean :math:`\sum_k\beta^{t-k}x_k/\sum_k\beta^{t-k}`.

    `variant` is ``"correct"`` (:class:`EWMA` with bias correction),
    ``"in_place"`` (:func:`ewma_in_place` against the weighted mean, a control)
    or ``"reversed"`` (the EWMA against the mean with the weights in the wrong
    order, :math:`\beta^{k-1}` on :math:`x_k`: a control that a constant
    sequence cannot catch, since there every weighting gives the constant).

    Notes
    -----
    With :math:`M = \max_k |x_k|`, the recursion's accumulated error is at
    most :math:`2\gamma_2 M (1-\beta^t)/(1-\beta)` (two roundings a step, damped
    by :math:`\beta`), the reference's direct sum of t terms with weights
    computed by powers at most :math:`\gamma_{t+2}\, M \sum_k \beta^{t-k}`, and
    the coefficients' rounding :math:`u_c M t/(1-\beta)`; dividing by
    :math:`1-\beta^t` (relative :math:`\gamma_3` more) gives the tolerance of
    step t.
    """
    xp = array_namespace(xs[0])
    if variant not in ("correct", "in_place", "reversed"):
        raise ValueError(f"variant must be 'correct', 'in_place' or 'reversed', got {variant!r}")
    values = ewma_in_place(xs, beta) if variant == "in_place" else ewma_values(xs, beta, bias_correction=True)
    u_c, dtype, out = _u_conv(xs[0].dtype), xs[0].dtype, []
    M = max(float(xp.max(xp.abs(x))) for x in xs)
    for t in range(1, len(xs) + 1):
        # The weight of x_k at step t: beta^(t-k) (newest heaviest), or beta^(k-1) for the reversed control.
        powers = [beta ** ((k - 1) if variant == "reversed" else (t - k)) for k in range(1, t + 1)]
        total = sum(powers)
        reference = sum(p * x for p, x in zip(powers, xs[:t])) / total
        got = values[t - 1]
        residual = float(xp.max(xp.abs(got - reference)))
        bt = beta**t
        tol = (2 * gamma(2, dtype) * M * (1 - bt) / (1 - beta) + gamma(t + 2, dtype) * M * total * (1 - beta)
               + u_c * M * t / (1 - beta)) / (1 - bt) * (1 + gamma(3, dtype))  # fmt: skip
        out.append(Measurement(residual, tol, M, f"beta={beta} t={t} ({variant})"))
    return Measurement.worst(out)
