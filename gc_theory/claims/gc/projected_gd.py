r"""GC-SGD is projected gradient descent: on a convex loss it finds the constrained minimiser.

Each claim runs GC-SGD on a strongly convex problem of
:mod:`gc_theory.problems.convex` (least squares, L2-regularised logistic
regression) and holds the distance of its last iterate to the constrained
minimiser to the tolerance derived in :mod:`gc_theory.optim.projected_gd`;
the control, plain SGD, converges to the unconstrained minimiser instead.
"""

from __future__ import annotations


from gc_theory.optim.projected_gd import projected_gd_measurement
from gc_theory.problems.convex import least_squares, logistic_regression
from gc_theory.claims import Context, Measurement, claim
from gc_theory.claims._sources import GC as GC_SOURCE

#: The statements are about GC (ids gc.*), measured with the optimisers.
STEPS_LS = 80
STEPS_LOGISTIC = 120


@claim(
    "gc.projected_gd.least_squares",
    statement="GC-SGD on least squares converges to the minimiser subject to e^T(w - w_0) = 0 "
    "(computed from the KKT system), at the projected-gradient rate rho^T, down to rounding",
    source=f"{GC_SOURCE}, Sec. 3.3 (GC as projected gradient descent onto the hyperplane)",
    control="plain SGD converges to the unconstrained minimiser instead, far from the constrained one",
)
def _least_squares(ctx: Context, control: bool) -> Measurement:
    case = ctx.spawn("problem")
    problem = least_squares(case)
    W0 = case.asarray(0.5 * case.rng.standard_normal((3, 8)))
    return projected_gd_measurement(problem, W0, STEPS_LS, None if control else "gradient")


@claim(
    "gc.projected_gd.logistic",
    statement="GC-SGD on L2-regularised logistic regression converges to the minimiser subject to e^T(w - w_0) = 0 "
    "(computed by equality-constrained Newton on the KKT system), at the rate rho^T, down to rounding",
    source=f"{GC_SOURCE}, Sec. 3.3; Boyd & Vandenberghe, Convex Optimization, Sec. 9.3 and 10.2",
    control="plain SGD converges to the unconstrained minimiser instead, far from the constrained one",
)
def _logistic(ctx: Context, control: bool) -> Measurement:
    case = ctx.spawn("problem")
    problem = logistic_regression(case)
    W0 = case.asarray(0.5 * case.rng.standard_normal((2, 6)))
    return projected_gd_measurement(problem, W0, STEPS_LOGISTIC, None if control else "gradient")
