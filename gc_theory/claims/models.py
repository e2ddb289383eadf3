r"""Claims about the models of :mod:`gc_theory.models`: every layer, loss and model has the right gradient.

``models.grad.correct``: for every case of :func:`gc_theory.models.cases.gradient_cases`
(every registered layer, loss and model) and every differentiable array of it,
the public directional checker :func:`gc_theory.gradcheck.directional_check`
agrees with the analytic gradient along random directions, within a tolerance
whose rounding term is the case's own layer-derived bound. The control runs the
same measurement on every bug of :func:`gc_theory.models.cases.planted_bugs`; each must
be caught. (How the checkers catch and localise those bugs entry by entry is
stated by the ``gradcheck.`` claims.)

References
----------
.. [1] N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM, 2002, Ch. 3.
.. [2] J. Nocedal, S. J. Wright, *Numerical Optimization*, 2nd ed., Springer, 2006, Sec. 8.1.
"""

from __future__ import annotations

import numpy as np

from gc_theory.models.cases import PlantedBug, check_case, gradient_cases, planted_bugs
from . import Context, Measurement, claim

#: Random directions per array of a case.
DIRECTIONS = 2
#: The checker's safety factor on its derived tolerance (see :func:`gc_theory.models.cases.check_case`).
SAFETY = 2.0


def caught(bug: PlantedBug, *, seed: int = 0) -> Measurement:
    """A planted bug's most discrepant direction over the arrays it touches.

    The bug's case is rejected when any array's check fails, so its
    measurement is the most failing one. Each array gets twice the claim's
    directions: in float32 some bugs (Weight Normalization's missing radial
    term, a transposed sigmoid-network weight) are caught by 10-40x along one
    random direction and by less along another.
    """
    return max(check_case(bug.case, seed=seed, directions=2 * DIRECTIONS, safety=SAFETY, keys=bug.keys), key=lambda m: m.ratio)


def _resolvable(bug: PlantedBug, ctx: Context) -> bool:
    r"""False for a generic perturbation of a ReLU network's gradient in a dtype coarser than float64.

    Notes
    -----
    To stay on one smooth piece, the stencils of a ReLU network must shrink
    (to :math:`s/256 \approx 2\cdot 10^{-5}` in float32 for ``model.cnn_relu``),
    where the case's rounding bound over the step, :math:`\epsilon_f/s` with
    :math:`\epsilon_f \approx 7\cdot 10^{-5}` for :math:`|f| = 1.6`, exceeds a
    transposed weight gradient's directional effect: the directional check
    cannot see it, by construction. The entrywise checker, whose steps move
    one entry and cross no kink, catches those (claim ``gradcheck.bugs.caught``).
    """
    return ctx.eps <= float(np.finfo(np.float64).eps) or bug.entries is None or bug.case.kinks(bug.case.point).shape[0] == 0


@claim(
    "models.grad.correct",
    statement="every layer, loss and model registered in gc_theory.models.cases has the right gradient: "
    "gradcheck.directional_check agrees along random directions in each of its arrays, within a tolerance "
    "built on the case's layer-derived rounding bound",
    source="central differences: Nocedal & Wright, Numerical Optimization, Sec. 8.1; rounding: Higham, Ch. 3",
    control="the same check on every planted bug of gc_theory.models.cases.planted_bugs() (a sign flip, a factor 2 and a "
    "transposed weight gradient on every case, and each case's own wrong backward pass): each must fail; below "
    "float64 the generic ones on ReLU networks are left to the entrywise check, whose steps cross no kink",
)
def _gradients(ctx: Context, control: bool) -> list[Measurement]:
    seed = int(ctx.rng.integers(2**31))
    if control:
        return [caught(bug, seed=seed) for bug in planted_bugs(ctx.xp, ctx.dtype, seed) if _resolvable(bug, ctx)]
    return [m for case in gradient_cases(ctx.xp, ctx.dtype, seed) for m in check_case(case, seed=seed, directions=DIRECTIONS, safety=SAFETY)]
