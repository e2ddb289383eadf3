r"""Claims about gradient descent near a saddle (:mod:`gc_theory.landscape.saddle`).

``saddle.escape.exact``: on :math:`f = \tfrac12(x_1^2 - x_2^2/2)` with h = 1, GD
started on the stable manifold converges to the saddle, and started
:math:`\delta` off it leaves the ball of radius 1 after exactly
:math:`\lceil\log(1/\delta)/\log(1 + h|\lambda_{\min}|)\rceil` steps, for
:math:`\delta = 10^{-1} \dots 10^{-12}` (the count must match: tolerance half a
step). Control: :math:`\delta = 0`, which never escapes (within 10^3 steps).

``saddle.escape.noisy``: from the saddle, noisy GD escapes in a mean number of
steps whose slope against :math:`\log(1/\sigma)`, over
:math:`\sigma = 10^{-2} \dots 10^{-10}`, is :math:`1/\log(1 + h|\lambda_{\min}|)`;
1000 runs per :math:`\sigma`, tolerance 4 standard errors of the fitted slope
(weighted least squares, each mean's standard error from its runs).
Control: the continuous-time rate :math:`1/(h|\lambda_{\min}|)`.

``saddle.plateau.adaptive``: Adam (lr 0.01, eps 1e-8) crosses the ramp
:math:`L = -s x` of width 1 in a number of steps that does not depend on the
gradient's scale :math:`s \in \{10^{-2}, 10^{-4}, 10^{-6}\}`: the counts differ
from the count at :math:`s = 10^{-2}` by at most
:math:`\lceil W\epsilon/(\eta s)\rceil + 1` (the :math:`s/(s + \epsilon)` shrinkage of
its step, plus one step of discreteness). Control: plain SGD (lr 1), whose count
is :math:`\lceil W/(\eta s)\rceil`, capped at 500.

``saddle.goe.positive_definite``: the fraction of positive definite GOE
matrices among :math:`10^5` samples agrees, within 4 binomial standard errors
:math:`\sqrt{p(1-p)/M}`, with the probability from integrating the joint
eigenvalue density (n = 1, 2, 3; n = 2 is :math:`1/2 - 1/(2\sqrt2)`). Control:
the diagonal-matrix answer :math:`2^{-n}` (n = 2, 3), which overstates how
common minima are.

``saddle.goe.rate``: the exact :math:`\log P_n` (a Pfaffian, :mod:`gc_theory.landscape.random_minima`)
fitted with :math:`-\theta n^2 + c_1 n + c_2\log n + c_0` over n = 8..24 gives
Dean and Majumdar's :math:`\theta = \ln 3/4` (for :math:`\beta = 1`), within the
fit's drift from the window n = 5..16. Control: diagonal matrices,
:math:`\log P_n = -n\log 2`, whose :math:`n^2` coefficient is 0.

References
----------
.. [1] J. D. Lee, M. Simchowitz, M. I. Jordan and B. Recht, COLT 2016.
.. [2] R. Ge, F. Huang, C. Jin and Y. Yuan, COLT 2015.
"""

from __future__ import annotations

import math

import numpy as np

from gc_theory import optim
from gc_theory.landscape.double_well import double_well_measurements
from gc_theory.landscape.random_minima import THETA, fit_rate, log_positive_definite_probability, positive_definite_fraction, positive_definite_probability
from gc_theory.landscape.saddle import escape_step, noisy_escape_steps, predicted_escape_step, steps_to_cross_plateau
from . import NUMPY_ONLY, Context, Measurement, claim

H, RADIUS, LAMBDA_MIN = 1.0, 1.0, -1.0
EIGENVALUES = (1.0, LAMBDA_MIN)
MAX_STEPS = 1_000
#: Noise levels, runs per level, and the z of the statistical tolerance.
SIGMAS, RUNS, Z = (1e-2, 1e-4, 1e-6, 1e-8, 1e-10), 1000, 4.0


@claim(
    "saddle.escape.exact",
    statement="GD started delta off the stable manifold of a quadratic saddle leaves radius r after exactly "
    "ceil(log(r/delta)/log(1 + h|lambda_min|)) steps",
    source="Lee et al. (2016); the linear recurrence x <- (I - h Lambda) x",
    control="delta = 0 (on the stable manifold): never escapes",
)
def _exact(ctx: Context, control: bool):
    lam = ctx.asarray(EIGENVALUES)
    for delta in (1e-1, 1e-3, 1e-6, 1e-9, 1e-12):
        x0 = ctx.asarray([0.5, 0.0 if control else delta])
        measured = escape_step(lam, x0, H, RADIUS, max_steps=MAX_STEPS)
        predicted = predicted_escape_step(delta, RADIUS, H, LAMBDA_MIN)
        # Step counts must agree exactly; half a step separates "equal" from "one off".
        yield Measurement(float(abs(measured - predicted)), 0.5, None, f"delta={delta:g}: {measured} vs {predicted} steps")


@claim(
    "saddle.escape.noisy",
    statement="noisy GD escapes a saddle in a mean time growing as log(1/sigma)/log(1 + h|lambda_min|)",
    source="Ge et al. (2015); the unstable coordinate grows as (1 + h|lambda_min|)^k sigma S",
    control="the continuous-time slope 1/(h|lambda_min|)",
)
def _noisy(ctx: Context, control: bool):
    lam = ctx.asarray(EIGENVALUES)
    logs, means, errors = [], [], []
    for sigma in SIGMAS:
        times = noisy_escape_steps(lam, sigma, H, RADIUS, RUNS, ctx.spawn(f"sigma={sigma:g}").rng, max_steps=MAX_STEPS)
        logs.append(math.log(1.0 / sigma))
        means.append(times.mean)
        errors.append(times.standard_error)
    x, y, w = np.array(logs), np.array(means), 1.0 / np.array(errors) ** 2
    xbar = np.sum(w * x) / np.sum(w)
    slope = float(np.sum(w * (x - xbar) * y) / np.sum(w * (x - xbar) ** 2))
    slope_error = float(1.0 / math.sqrt(np.sum(w * (x - xbar) ** 2)))
    rate = H * abs(LAMBDA_MIN) if control else math.log1p(H * abs(LAMBDA_MIN))
    yield Measurement(abs(slope - 1.0 / rate), Z * slope_error, None,
                      f"slope {slope:.4f} +- {slope_error:.2g} vs 1/rate {1.0 / rate:.4f}")  # fmt: skip


#: The plateau: width, Adam's lr and eps, the gradient scales.
PLATEAU_WIDTH, ADAM_LR, ADAM_EPS, SCALES = 1.0, 0.01, 1e-8, (1e-2, 1e-4, 1e-6)
#: Step cap: Adam needs ~100; SGD at s = 1e-4 would need 10^4, so the cap already shows the 1/s growth.
PLATEAU_STEPS = 500


@claim(
    "saddle.plateau.adaptive",
    statement="Adam crosses a plateau of gradient scale s = 1e-2, 1e-4, 1e-6 in a number of steps independent of s",
    source="Kingma & Ba (2015), Sec. 2.1 (the step's scale invariance)",
    control="plain SGD, whose step count grows as 1/s",
)
def _plateau(ctx: Context, control: bool):
    def steps(scale: float) -> int:
        opt = optim.SGD(lr=1.0) if control else optim.Adam(lr=ADAM_LR, eps=ADAM_EPS)
        return steps_to_cross_plateau(opt, scale, PLATEAU_WIDTH, xp=ctx.xp, dtype=ctx.dtype_name, max_steps=PLATEAU_STEPS)

    reference = steps(SCALES[0])
    for scale in SCALES[1:]:
        # A count against a count: scale None. Slack: eps shrinks Adam's step by s/(s + eps).
        slack = math.ceil(PLATEAU_WIDTH * ADAM_EPS / (ADAM_LR * scale)) + 1
        measured = steps(scale)
        yield Measurement(float(abs(measured - reference)), float(slack), None, f"s={scale:g}: {measured} vs {reference} steps")


GOE_SAMPLES = 100_000


@claim(
    "saddle.goe.positive_definite",
    statement="P(random GOE n x n matrix is positive definite), sampled, matches the integral of the joint "
    "eigenvalue density (n = 1..3), falling faster than 2^-n",
    source="Dean & Majumdar (2006); Dauphin et al. (2014)",
    control="the diagonal-matrix probability 2^-n, n = 2, 3",
    runs_on=NUMPY_ONLY,
)
def _goe(ctx: Context, control: bool):
    for n in (2, 3) if control else (1, 2, 3):
        sampled = positive_definite_fraction(n, GOE_SAMPLES, ctx.spawn(f"goe n={n}").rng)
        exact = positive_definite_probability(n)
        predicted = 2.0**-n if control else exact
        # Binomial standard error of the sampled fraction, at the integrated probability.
        tol = Z * math.sqrt(exact * (1.0 - exact) / GOE_SAMPLES)
        yield Measurement(abs(sampled - predicted), tol, None, f"n={n}: sampled {sampled:.5f}, integral {exact:.5f}, 2^-n {2.0**-n:.4f}")


#: Sizes of the rate fit, and the earlier window whose drift sets the tolerance.
RATE_SIZES, EARLIER_SIZES = range(8, 25), range(5, 17)


@claim(
    "saddle.goe.rate",
    statement="log P(GOE n x n positive definite) = -theta n^2 + c1 n + c2 log n + c0 + o(1) with theta = ln(3)/4 "
    "(exact Pfaffian values, fit over n = 8..24)",
    source="Dean & Majumdar, PRL 97 (2006) 160201 (beta = 1); de Bruijn (1955)",
    control="diagonal matrices with i.i.d. normal entries, P = 2^-n: theta = 0",
    runs_on=NUMPY_ONLY,
)
def _goe_rate(ctx: Context, control: bool):
    """The n^2 coefficient of log P_n against Dean and Majumdar's ln(3)/4.

    Notes
    -----
    The fit omits the :math:`O(1/n)` terms of :math:`\\log P_n`, so its
    :math:`\\theta` carries a truncation error that falls as the window of n
    moves out (measured up to n = 60: :math:`-1.2\\times10^{-5}` on n = 5..16,
    :math:`-3.1\\times10^{-6}` on 8..24, :math:`-3.5\\times10^{-7}` on 16..48). The
    tolerance is the drift between the fit on 8..24 and on the earlier 5..16,
    which bounds the later fit's error when that error falls monotonically,
    plus both fits' rounding (:func:`gc_theory.landscape.random_minima.fit_rate`).
    """

    def log_p(n: int) -> float:
        return -n * math.log(2.0) if control else log_positive_definite_probability(n)

    values = {n: log_p(n) for n in sorted(set(RATE_SIZES) | set(EARLIER_SIZES))}
    fit, earlier = (fit_rate(list(ns), [values[n] for n in ns]) for ns in (RATE_SIZES, EARLIER_SIZES))
    n = RATE_SIZES[-1]
    second = -(values[n] - 2.0 * values[n - 1] + values[n - 2]) / 2.0
    yield Measurement(abs(fit.theta - THETA), abs(fit.theta - earlier.theta) + fit.rounding + earlier.rounding, THETA,
                      f"theta {fit.theta:.7f} (n = 8..24), {earlier.theta:.7f} (5..16), ln3/4 = {THETA:.7f}; "
                      f"c1 = {fit.c1:.4f}, c2 = {fit.c2:.4f}; -Delta^2 log P/2 at n = {n - 1}: {second:.6f}")  # fmt: skip


@claim(
    "saddle.double_well.basin",
    statement="on a tilted double well (x^2 - 1)^2/4 + c x, c in {0, 0.1, 0.3}, GD (h = 0.1) converges to the minimum "
    "of the basin it starts in, to rounding: started in the shallow basin it stays at the local, not the global, minimum",
    source="the notes' 'local minima trap GD'; Nocedal & Wright, Numerical Optimization (2006), Sec. 3.2",
    control="the same end points held to the global minimum (the other basin's at c = 0): off by the distance between the minima",
)
def _double_well(ctx: Context, control: bool) -> list[Measurement]:
    # Tolerance derived in double_well_measurements' Notes (GD's fixed point to rounding, over the curvature).
    return double_well_measurements(ctx, control)
