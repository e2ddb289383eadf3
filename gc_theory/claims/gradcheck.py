r"""Claims about finite-difference gradient checking (:mod:`gc_theory.gradcheck`).

The error of a difference quotient with step h is truncation plus rounding
(:mod:`gc_theory.gradcheck.error_model`); for the central difference
:math:`E(h) = M_3h^2/6 + \epsilon_f/h`. The claims measure that model's
predictions: the slopes of the "V" on log-log axes, the best step and the
error there, the orders of Richardson extrapolation and the complex step, the
shrink-h diagnosis, and that the entrywise checker passes correct gradients and
catches and localises every planted bug of :func:`gc_theory.models.cases.planted_bugs`.

The measurements live in :mod:`gc_theory.gradcheck.measurements` (error
ladders on exp, the best step, Richardson, the complex step, shrink-h) and
:mod:`gc_theory.models.checking` (entrywise verdicts and localisation over every
registered case and planted bug); the rounding side's slope -1 is a
least-squares fit over 13 steps held to a Student-t bound from its own scatter. Each range is one
case, and every control is off by a whole order (a factor-2 bug leaves a
constant error, slope 0), so it misses by far more than 10x.

Sources: CS231n notes "Gradient checks"; Gill, Murray & Wright, *Practical
Optimization* (1981), Sec. 8.6; Squire & Trapp, SIAM Review 40 (1998);
Lyness & Moler, SIAM J. Numer. Anal. 4 (1967).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gc_theory.models.cases import flat_case, planted_bugs
from gc_theory.models.cases import gradient_cases
from gc_theory.verify.order_fit import noisy_slope_measurement
from gc_theory.gradcheck.measurements import (
    complex_step_measurement,
    error_curve,
    exp_points,
    model_step,
    noisy_exp,
    order_on_ladder,
    shrink_h_measurements,
    step_model_measurement,
)
from gc_theory.gradcheck.textbook import recipe_measurements
from gc_theory.models.checking import case_ratio, entrywise_measurement, localisation_measurement, planted_sample

from . import Context, Measurement, claim

NOTES = "CS231n notes, Gradient checks; Gill, Murray & Wright, Practical Optimization, Sec. 8.6"


def _exact(ctx: Context, control: bool) -> Any:
    """The exact derivative of exp on the points, or (control) twice it: the planted factor-2 bug."""
    exact = ctx.xp.exp(ctx.xp.astype(exp_points(ctx), ctx.xp.float64))
    return 2 * exact if control else exact


@claim(
    "gradcheck.difference.slopes",
    statement="error vs h on log-log axes: central falls as h^2 (order 2) and forward as h (order 1) where truncation dominates, "
    "and central rises as 1/h (slope -1) where rounding does; orders held to the ladder's drift, the rounding slope to a t-bound",
    source=f"{NOTES} (error M h^2/6 + eps|f|/h)",
    control="the same error curves measured against a derivative with the factor-2 bug: the error stays at the bug's size (slope 0)",
)
def _slopes(ctx: Context, control: bool) -> list[Measurement]:
    exact = _exact(ctx, control)
    hc, hf = model_step(ctx, "central"), model_step(ctx, "forward")
    rounding_steps = np.geomspace(hc / 10, hc / 1000, 13)  # rounding dominates truncation by >= 2000x there
    return [
        order_on_ladder(ctx, "central truncation", "central", min(100 * hc, 0.3), 10 * hc, 2.0, exact),
        order_on_ladder(ctx, "forward truncation", "forward", min(100 * hf, 0.06), 10 * hf, 1.0, exact),
        noisy_slope_measurement(rounding_steps, error_curve(ctx, "central", rounding_steps, exact=exact), -1.0,
                                detail="central rounding"),
    ]


@claim(
    "gradcheck.step.model_optimal",
    statement="the measured best central-difference step is within 3x of the error model's h* = (3 eps|f|/M)^(1/3) (M estimated numerically), and the error there within 10x of the model's",
    source=f"{NOTES}",
    control="f = (exp(x) + C) - C, which loses 4 digits to cancellation: the model, fed eps|f|, misplaces h* and the error",
)
def _step_model(ctx: Context, control: bool) -> Measurement:
    return step_model_measurement(ctx, noisy_exp(ctx, 1e4) if control else ctx.xp.exp)


@claim(
    "gradcheck.richardson.order4",
    statement="Richardson extrapolation (4 D(h/2) - D(h))/3 of the central difference has error O(h^4): order 4 within the ladder's drift",
    source="L. F. Richardson, Phil. Trans. R. Soc. A 226 (1927); Gill, Murray & Wright, Sec. 8.6",
    control="the central difference without extrapolation (slope 2) on the same steps",
)
def _richardson(ctx: Context, control: bool) -> Measurement:
    hr = model_step(ctx, "richardson")
    exact = _exact(ctx, False)
    # From h = 0.6 (higher orders below 2% of the error for exp) down while the errors stay 100x above rounding;
    # rungs sqrt(2) apart, so that float32, whose rounding leaves only h in [0.3, 0.6], still gets three.
    return order_on_ladder(ctx, "Richardson truncation", "central" if control else "richardson", 0.6, 2.5 * hr, 4.0, exact,
                           ratio=math.sqrt(2.0))  # fmt: skip


@claim(
    "gradcheck.complex_step.floor",
    statement="the complex step Im f(x + ih)/h reaches relative error <= 1e-14 (45 eps) on smooth functions: no subtractive cancellation",
    source="Squire & Trapp, SIAM Review 40 (1998); Lyness & Moler (1967)",
    control="the same functions written non-analytically (f(real(z))): the imaginary part is lost",
)
def _complex(ctx: Context, control: bool) -> list[Measurement]:
    return complex_step_measurement(ctx, analytic=not control)


@claim(
    "gradcheck.diagnosis.shrink_h",
    statement="shrinking h by 10 shrinks a correct gradient's error by 100 (truncation) and leaves a wrong entry's unchanged; the diagnosis says 'truncation' and 'bug' respectively",
    source=f"{NOTES} (the h -> h/10 test)",
    control="a sign-flipped entry held to the correct gradient's statement (error must fall 100x): it does not fall",
)
def _shrink_h(ctx: Context, control: bool) -> list[Measurement]:
    if control:
        return shrink_h_measurements(ctx, correct=False, expect_truncation=True)
    return (shrink_h_measurements(ctx.spawn("correct"), correct=True, expect_truncation=True)
            + shrink_h_measurements(ctx.spawn("bug"), correct=False, expect_truncation=False))  # fmt: skip


@claim(
    "gradcheck.bugs.caught",
    statement="check_gradient, entry by entry (a sample and a directional check for larger cases), tells every planted bug "
    "of gc_theory.models.cases.planted_bugs() from the right gradient: each registered layer, loss and model's correct gradient "
    "passes within the error model's tolerance, and each bug (the control) fails it",
    source=f"{NOTES}; Yong et al., Gradient Centralization, ECCV 2020, Sec. 3.2 (d/dW L(PW) = P dL/dW')",
    control="every planted bug of gc_theory.models.cases.planted_bugs() (a sign flip, a factor 2 and a transposed weight "
    "gradient on every case, and each case's own wrong backward pass): each must fail",
)
def _bugs_caught(ctx: Context, control: bool) -> list[Measurement]:
    seed = int(ctx.rng.integers(0, 2**31))
    rng = ctx.spawn("entries").rng
    if not control:
        cases = [flat_case(c, ctx.xp) for c in gradient_cases(ctx.xp, ctx.dtype, seed)]
        return [entrywise_measurement(c, c.grad, rng, c.name) for c in cases]
    out = []
    for bug in planted_bugs(ctx.xp, ctx.dtype, seed):
        flat = flat_case(bug.case, ctx.xp)
        ratio, how = case_ratio(flat, flat.grad, rng, wrong=True, only=planted_sample(bug, flat))
        out.append(Measurement(ratio, 1.0, None, f"{bug.name}: max error/tolerance {ratio:.3g} ({how})"))
    return out


@claim(
    "gradcheck.bugs.localized",
    statement="localize() finds exactly the entries a planted bug (sign flip in one entry, factor 2, transposed weight gradient) made wrong: repairing them makes the gradient pass",
    source=f"{NOTES}; group testing by bisection on random directions",
    control="repairing as many randomly chosen entries instead of the localised ones",
)
def _bugs_localized(ctx: Context, control: bool) -> list[Measurement]:
    return localisation_measurement(ctx, guess=control)


@claim(
    "gradcheck.textbook_recipe",
    statement="the textbook recipe (h = 1e-7, accept when max|error| <= h, else shrink h 10x and expect the error to fall "
    "100x) errs at both ends in float64, and check_gradient gets both right: a correct gradient of sum c exp(w), n = 1000, "
    "has error ~1e-6 > h that rises as h shrinks (rounding), and a sign-flipped entry of size 1e-9 is inside h",
    source=f"{NOTES}; the rounding term eps|f|/h of the error model",
    control="the recipe's own verdicts on the same two problems: 'bug' for the correct gradient (error grows 10x instead "
    "of falling 100x), 'accepted' for the flipped entry (error 2e-9 under the threshold 1e-7)",
)
def _textbook_recipe(ctx: Context, control: bool) -> list[Measurement]:
    # Tolerances and margins are derived in recipe_measurements' Notes (rounding model eps|f|/h).
    return recipe_measurements(ctx, control)
