r"""Gradient descent on a tilted double well: it converges to the minimum of the basin it starts in.

:math:`f(x) = \tfrac14(x^2 - 1)^2 + c\,x` has, for :math:`|c| < 2/(3\sqrt3)`,
two minima (the roots of :math:`f'(x) = x^3 - x + c` with
:math:`f'' = 3x^2 - 1 > 0`) separated by a local maximum. For :math:`c > 0`
the left minimum is the global one; GD started right of the maximum (with a
step small enough not to jump, :math:`h < 2/f''`) converges to the right,
merely local, minimum: a local minimum traps it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gc_theory.core.validation import check_finite_floating, check_positive, check_positive_int, check_real
from gc_theory.verify.measurement import Measurement
from gc_theory.verify.tolerances import gamma, unit_roundoff

__all__ = ["TILTS", "double_well_critical_points", "double_well_gd", "double_well_measurements"]

#: Tilts c of the cases (0: symmetric wells).
TILTS = (0.0, 0.1, 0.3)


def double_well_critical_points(c: float) -> tuple[float, float, float]:
    r"""The left minimum, the maximum and the right minimum of :math:`\tfrac14(x^2-1)^2 + c x`, in float64.

    Parameters
    ----------
    c : float
        The tilt, :math:`|c| < 2/(3\sqrt 3) \approx 0.385` (two minima).

    Returns
    -------
    tuple of float
        The three real roots of :math:`x^3 - x + c`, ascending, each polished by Newton's method
        to a residual within :math:`\gamma_3(|x|^3 + |x| + |c|)`.

    Examples
    --------
    >>> double_well_critical_points(0.0)
    (-1.0, 0.0, 1.0)
    """
    c = check_real(c, "c", low=-2 / (3 * math.sqrt(3)), high=2 / (3 * math.sqrt(3)), low_open=True, high_open=True)
    roots = sorted(float(r.real) for r in np.roots([1.0, 0.0, -1.0, c]))
    polished = []
    for x in roots:
        for _ in range(3):  # np.roots is already close; Newton's quadratic convergence reaches rounding in 1-2 steps
            x -= (x**3 - x + c) / (3 * x**2 - 1)
        polished.append(x + 0.0)
    return tuple(polished)  # type: ignore[return-value]


def double_well_gd(x0: Any, c: float, h: float, steps: int) -> Any:
    r"""Gradient descent :math:`x \leftarrow x - h(x^3 - x + c)` from each entry of `x0`, `steps` times.

    Parameters
    ----------
    x0 : array
        Starting points (any shape, real floating, any array-API namespace).
    c : float
        The tilt.
    h : float
        The step, > 0.
    steps : int
        Number of steps, >= 1.

    Returns
    -------
    array
        The final points, x0's namespace and dtype.

    Examples
    --------
    >>> import numpy as np
    >>> x = double_well_gd(np.array([-0.5, 0.5]), 0.0, 0.1, 500)
    >>> bool(np.all(np.abs(np.abs(x) - 1.0) < 1e-15)), bool(x[0] < 0 < x[1])
    (True, True)
    """
    check_finite_floating(x0, "x0")
    c = check_real(c, "c")
    h = check_positive(h, "h")
    steps = check_positive_int(steps, "steps")
    x = x0
    for _ in range(steps):
        x = x - h * (x * x * x - x + c)
    return x


def double_well_measurements(ctx: Any, control: bool, *, h: float = 0.1, steps: int = 800) -> list[Measurement]:
    r"""Per tilt: the distance of GD's end points from the minimum of the basin each started in.

    Starts are drawn uniformly in each basin (between the maximum and 1.5 past the minimum);
    with `control`, the distance is taken to the *global* minimum instead (the statement "GD
    finds the global minimum"), which fails for starts in the shallow (right) basin; at c = 0,
    where both minima are global, each basin's starts are held to the other basin's minimum.

    Notes
    -----
    GD stops moving when :math:`\mathrm{fl}(x - h\,f'(x)) = x`, which needs
    :math:`|h\,\mathrm{fl}(f'(x))| \le u|x|`; the computed :math:`f'` is within
    :math:`\gamma_3(|x|^3 + |x| + |c|)` of the exact one. Near a minimum
    :math:`|x - x^*| \le |f'(x)|/m` with :math:`m` the least curvature between
    them (taken as :math:`f''(x^*)/2`, valid within :math:`f''(x^*)/(12|x^*|)` of x*,
    far more than the distances measured). Before that, GD contracts at
    :math:`|1 - h f''(x^*)| \le 0.915` for h = 0.1 and :math:`f''(x^*) \in [0.85, 2.8]`
    over the tilts, and a start 1% of the basin's width off the maximum leaves it
    within about 100 steps (growth :math:`1 + h|f''| \ge 1.065` there), so 800 steps
    shrink an O(1) start by at least :math:`0.915^{700} \approx 10^{-27}`. The
    tolerance is therefore
    :math:`(u|x^*|/h + \gamma_3(|x^*|^3 + |x^*| + |c|))/(f''(x^*)/2)`, plus the same
    bound for the Newton-polished x*.
    """
    xp, out = ctx.xp, []
    u = unit_roundoff(ctx.dtype)
    for c in TILTS:
        left, peak, right = double_well_critical_points(c)
        rng = ctx.spawn(f"c={c}").rng
        for side, (lo, hi), target in (("left", (left - 1.5, peak), left), ("right", (peak, right + 1.5), right)):
            # Keep starts off the maximum by 1%: from exactly there GD need not move at all.
            starts = rng.uniform(lo + 0.01 * (hi - lo), hi - 0.01 * (hi - lo), 16)
            x = double_well_gd(xp.asarray(starts, dtype=ctx.dtype), c, h, steps)
            want = target
            if control:
                want = left if (c > 0 or side == "right") else right
            if not control or want != target:
                curvature = 3 * target**2 - 1
                slack = gamma(3, ctx.dtype) * (abs(target) ** 3 + abs(target) + abs(c))
                root = gamma(3, "float64") * (abs(target) ** 3 + abs(target) + abs(c))  # the float64 x*'s own residual
                tol = (u * abs(target) / h + slack + root) / (curvature / 2)
                residual = float(xp.max(xp.abs(x - want)))
                out.append(Measurement(residual, tol, abs(target), f"c={c}, {side} basin, 16 starts, GD h={h} -> "
                                                                   f"{'global' if control else 'basin'} minimum {want:.6g}"))  # fmt: skip
    return out
