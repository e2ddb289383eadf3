r"""Claims about finite-difference gradient checking (:mod:`gc_theory.gradcheck`).

The error of a difference quotient with step h is truncation plus rounding
(:mod:`gc_theory.gradcheck.error_model`); for the central difference
:math:`E(h) = M_3h^2/6 + \epsilon_f/h`. The claims measure that model's
predictions: the slopes of the "V" on log-log axes, the best step and the
error there, the orders of Richardson extrapolation and the complex step, the
shrink-h diagnosis, and that the entrywise checker passes correct gradients and
catches and localises every planted bug of :func:`gc_theory.models.cases.planted_bugs`.

Error curves are measured on :math:`f = \exp` at 256 points in [0.5, 1.5]
(every point an independent one-dimensional problem, one call of f per
stencil), and summarised by the root mean square of the relative error over
the points, which averages the rounding noise into a smooth curve. Orders on
the truncation side come from :mod:`gc_theory.verify.order_fit`: a geometric ladder
of steps kept 100x above the rounding floor, successive slopes, and a tolerance
derived from their drift; the rounding side's slope -1 is a least-squares fit
over 13 steps held to a Student-t bound from its own scatter. Each range is one
case, and every control is off by a whole order (a factor-2 bug leaves a
constant error, slope 0), so it misses by far more than 10x.

Sources: CS231n notes "Gradient checks"; Gill, Murray & Wright, *Practical
Optimization* (1981), Sec. 8.6; Squire & Trapp, SIAM Review 40 (1998);
Lyness & Moler, SIAM J. Numer. Anal. 4 (1967).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from gc_theory.core.backend import to_numpy
from gc_theory.gradcheck import check_gradient, derivative, diagnose, directional_check, localize, numerical_gradient
from gc_theory.models.cases import Case, PlantedBug, flat_case, plant, planted_bugs, planted_entries
from gc_theory.models.cases import gradient_cases
from gc_theory.gradcheck.check import PrecisionWarning
from gc_theory.gradcheck.numerical import DEFAULT_PROBES
from gc_theory.verify.order_fit import geometric_ladder, noisy_slope_measurement, order_measurement
from gc_theory.problems.derivatives import error_curve, exp_points, model_step  # noqa: F401  (old import path of the curves)
from . import Context, Measurement, claim

NOTES = "CS231n notes, Gradient checks; Gill, Murray & Wright, Practical Optimization, Sec. 8.6"

#: Bound on the rounding part of each method's relative error on exp at relative step h, in units of eps/h (Notes of
#: :func:`truncation_ladder`).
ROUNDING_FLOOR = {"central": 1.25, "forward": 1.75, "richardson": 3.75}
#: A truncation ladder keeps its rungs while the error stays this far above the rounding floor.
FLOOR_MARGIN = 100.0


def truncation_ladder(ctx: Context, method: str, h_max: float, h_min: float, exact: Any, ratio: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Steps :math:`h_{\max}/r^i` down to `h_min`, the RMS error of `method` at each, and its rounding floor.

    The ladder stops at the first rung whose error comes within
    :data:`FLOOR_MARGIN` of the floor (at least 3 rungs are kept, so that
    :func:`~gc_theory.verify.order_fit.fit_order` refuses a ladder that reaches it).

    Notes
    -----
    f = exp = f' on [0.5, 1.5] at relative step h (absolute step
    :math:`h\max(|x|, 1) \ge h`). The values :math:`f(x \pm h)` round by
    :math:`u|f|`, the points :math:`x \pm h` by :math:`u|x| \le 1.5u`, which
    moves f by :math:`1.5u|f'|`; relative to :math:`f' = f` the central
    difference carries at most :math:`(2u + 2\cdot 1.5u)/(2h) = 2.5u/h = 1.25\epsilon/h`,
    the forward difference :math:`(2u + 1.5u)/h = 1.75\epsilon/h`, and
    Richardson's :math:`(4D(h/2) - D(h))/3` at most
    :math:`(4\cdot 2.5u/(h/2) + 2.5u/h)/3 = 7.5u/h = 3.75\epsilon/h`.
    """
    n = max(3, int(math.floor(math.log(h_max / h_min) / math.log(ratio) + 1e-9)) + 1)
    hs = geometric_ladder(h_max, n, ratio)
    errors = error_curve(ctx, method, hs, exact=exact)
    floor = ROUNDING_FLOOR[method] * ctx.eps / hs
    clear = errors >= FLOOR_MARGIN * floor
    keep = n if clear.all() else max(3, int(np.argmin(clear)))
    return hs[:keep], errors[:keep], floor[:keep]


def order_on_ladder(ctx: Context, label: str, method: str, h_max: float, h_min: float, expected: float, exact: Any,
                    ratio: float = 2.0) -> Measurement:  # fmt: skip
    """The Richardson-corrected order of `method` on :func:`truncation_ladder`, with the drift-derived tolerance."""
    hs, errors, floor = truncation_ladder(ctx, method, h_max, h_min, exact, ratio)
    return order_measurement(hs, errors, expected, rounding_floor=floor, floor_margin=1.0, detail=label)


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


def noisy_exp(ctx: Context, cancellation: float) -> Callable[[Any], Any]:
    """exp computed as (exp(x) + C) - C: `cancellation` = C/exp(x) times more rounding than eps*|f|."""
    C = cancellation * math.e

    def f(x: Any) -> Any:
        return (ctx.xp.exp(x) + C) - C

    return f


def step_model_measurement(ctx: Context, f: Callable[[Any], Any]) -> Measurement:
    r"""Best measured step vs the model's h*, and measured vs predicted error at h*.

    Notes
    -----
    Residual: the larger of ``(max(h_best/h*, h*/h_best) - 1)/2`` ("within a
    factor of 3") and ``(max(E/E*, E*/E) - 1)/9`` ("within a factor of 10"), held to 1.
    h_best is the minimum of the RMS error curve on a grid of 12 steps per decade
    over h*/30 .. 30 h*; E is the RMS error with the model's own step, E* its
    predicted bound (median over points).
    """
    x = exp_points(ctx)
    exact = ctx.xp.exp(ctx.xp.astype(x, ctx.xp.float64))
    chosen = derivative(f, x, "central")
    h_star = float(np.median(to_numpy(chosen.steps)))
    predicted = float(np.median(to_numpy(chosen.predicted_error) / to_numpy(exact)))
    measured = float(np.sqrt(np.mean((to_numpy(chosen.value) / to_numpy(exact) - 1.0) ** 2)))
    hs = np.geomspace(h_star / 30, h_star * 30, 36)
    curve = error_curve(ctx, "central", hs, f=f, exact=exact)
    h_best = float(hs[int(np.argmin(curve))])
    h_ratio = max(h_best / h_star, h_star / h_best)
    e_ratio = max(measured / predicted, predicted / measured)
    detail = f"h* = {h_star:.3g}, best h = {h_best:.3g}; error at h* {measured:.3g}, predicted {predicted:.3g}"
    # One prediction, two numbers: each miss as a fraction of its allowance, the larger one counts.
    return Measurement(max((h_ratio - 1.0) / 2.0, (e_ratio - 1.0) / 9.0), 1.0, None, detail)


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


def complex_step_measurement(ctx: Context, analytic: bool) -> list[Measurement]:
    r"""Max relative error of the complex step on smooth functions, held to 1e-14 in float64.

    Notes
    -----
    With no subtraction, the complex step's error is the rounding of f' itself,
    a few units of eps; 1e-14 is 45 eps in float64, and the same 45 eps in
    float32.
    """
    xp = ctx.xp
    x = exp_points(ctx)
    x64 = xp.astype(x, xp.float64)
    funcs = [
        ("exp", xp.exp, xp.exp(x64)),
        ("sin", xp.sin, xp.cos(x64)),
        ("tanh", xp.tanh, 1 - xp.tanh(x64) ** 2),
        ("x^3/(1+x^2)", lambda z: z**3 / (1 + z * z), (x64**4 + 3 * x64**2) / (1 + x64**2) ** 2),
    ]
    tol = 1e-14 / np.finfo(np.float64).eps * ctx.eps
    out = []
    for name, f, exact in funcs:
        g = f if analytic else (lambda z, f=f: f(xp.real(z)) + 0 * z)
        value = derivative(g, x, "complex").value
        rel = float(np.max(np.abs(to_numpy(value) / to_numpy(exact) - 1.0)))
        out.append(Measurement(rel, tol, 1.0, f"{name}: max relative error {rel:.3g}"))
    return out


@claim(
    "gradcheck.complex_step.floor",
    statement="the complex step Im f(x + ih)/h reaches relative error <= 1e-14 (45 eps) on smooth functions: no subtractive cancellation",
    source="Squire & Trapp, SIAM Review 40 (1998); Lyness & Moler (1967)",
    control="the same functions written non-analytically (f(real(z))): the imaginary part is lost",
)
def _complex(ctx: Context, control: bool) -> list[Measurement]:
    return complex_step_measurement(ctx, analytic=not control)


def _separable(ctx: Context) -> tuple[Any, Callable[[Any], Any], Callable[[Any], Any]]:
    """f(x) = sum_i c_i exp(x_i) + x_0 x_1 x_2 for 3 entries: smooth, coupled, exact gradient known.

    Few terms keep |f| (hence rounding, eps|f|/h) comparable to each entry's
    truncation error, so that in float32 too the step h/10 stays truncation-dominated.
    """
    xp = ctx.xp
    x = ctx.asarray(ctx.rng.uniform(0.5, 1.5, 3))
    c = ctx.asarray(ctx.rng.uniform(0.5, 2.0, 3))

    def f(z: Any) -> Any:
        return xp.sum(c * xp.exp(z)) + xp.prod(z)

    def grad(z: Any) -> Any:
        return c * xp.exp(z) + xp.prod(z) / z

    return x, f, grad


def shrink_h_measurements(ctx: Context, correct: bool, expect_truncation: bool) -> list[Measurement]:
    r"""The shrink-h diagnosis at a truncation-dominated step h, one Measurement per diagnosed entry.

    Notes
    -----
    With the error model :math:`E(s) = M s^2/6 + \epsilon|f|/s` and its step
    :math:`h^*`, rounding over truncation at a step s is :math:`2(h^*/s)^3`.
    f here is a sum of positive terms: its rounding is at most about
    :math:`10u|f|` (exp within one ulp, six flops), and rounding the stencil
    points :math:`x \pm s` adds :math:`u|x f'| \le 2u|f|` more, so the
    difference quotient's rounding is at most :math:`12u|f|/s = 6\epsilon|f|/s`,
    six times the model's. At s = h/10 with :math:`h = \min(100h^*, 0.3)` a
    correct entry's error ratio :math:`e(h)/e(h/10)` is therefore
    :math:`100(1 + \rho)` with

    .. math:: |\rho| \le 12\,(10h^*/h)^3 + h^2/20,

    the second term the :math:`h^4` part of the central difference of exp.
    That is 0.012 in float64 (h = 100h*) and up to 0.16 in float32, where
    the cap h = 0.3 leaves h/10 only about 4h*; the tolerance is
    :math:`\log_{10}(1 + \rho)`. A bug of size :math:`\beta` gives
    :math:`\log_{10}((\beta + T)/(\beta + T/100))` with :math:`T/\beta < 0.03`,
    held to the same tolerance around 0. Residual: :math:`|\log_{10} r - 2|` where
    truncation is expected, else :math:`|\log_{10} r|`; infinite when the
    diagnosis names the wrong kind.
    """
    x, f, grad = _separable(ctx)
    h_star = model_step(ctx, "central")
    h = min(100 * h_star, 0.3)
    g = grad if correct else plant("sign_flip", grad, x)
    entries = planted_entries("sign_flip", grad, x) if not correct else None
    found, _ = diagnose(f, g, x, h, entries)
    target, kind = (2.0, "truncation") if expect_truncation else (0.0, "bug")
    tolerance = math.log10(1.0 + 12.0 * (10.0 * h_star / h) ** 3 + h * h / 20.0)
    out = []
    for i, d in found.items():
        r = math.log10(max(d.ratio, 1e-300))
        dev = abs(r - target) if (d.kind == kind or expect_truncation != correct) else math.inf
        out.append(Measurement(dev, tolerance, None, f"entry {i}: log10(e(h)/e(h/10)) = {r:.3f}, diagnosed {d.kind!r} (h = {h:.3g})"))
    return out


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


#: Cases with more entries than this are checked on a sample of entries plus a directional check.
FULL_CHECK_MAX = 64
#: The sample: the entries with the largest analytic gradient, and random others.
SAMPLE_LARGEST, SAMPLE_RANDOM = 4, 6


def _quiet(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)
        return fn(*args, **kwargs)


def sample_entries(case: Case, grad: Any, rng: np.random.Generator, extra: Any = ()) -> np.ndarray | None:
    """None (check all) for small cases; else a sample stratified by parameter tensor, and `extra`.

    The sample: the entries with the largest analytic |g| overall, random
    entries, and in every parameter tensor (weight, bias, input) its largest
    entry and a random one, so that no tensor goes unchecked.
    """
    if case.size <= FULL_CHECK_MAX:
        return None
    g = np.abs(to_numpy(grad(case.x) if callable(grad) else grad).reshape(-1))
    parts = [np.argsort(-g)[:SAMPLE_LARGEST], rng.choice(case.size, size=SAMPLE_RANDOM, replace=False)]
    for offset, shape in (case.blocks or {}).values():
        size = math.prod(shape)
        parts.append(np.array([offset + int(np.argmax(g[offset : offset + size])), offset + int(rng.integers(size))]))
    parts.append(np.asarray(extra, dtype=np.int64))
    return np.unique(np.concatenate(parts))


def case_ratio(case: Case, grad: Any, rng: np.random.Generator, extra: Any = (), *, wrong: bool = False,
               only: Any = None) -> tuple[float, str]:  # fmt: skip
    """Worst error/tolerance of a case: every entry (small cases), or a sample plus a directional check.

    Entries the diagnosis explains count as the report counts them: a kink
    (no derivative exists) not at all, an entry that failed through truncation
    by its error over tolerance at h/10, the step that resolves it. For cases with ReLU kinks the directional check is told the
    activation pattern (``pieces``), so that it shrinks its step rather than
    cross a kink. The directional part is skipped for a gradient known to be
    wrong (`wrong`) once the sample already fails by the control margin, and
    such a gradient is checked with 2 probes instead of 4, to save evaluations.
    `only` checks exactly those entries instead of a sample.
    """
    entries = sample_entries(case, grad, rng, extra) if only is None else np.asarray(only, dtype=np.int64)
    pieces = case.kinks if has_kinks(case) else None
    report = _quiet(check_gradient, case.f, grad, case.x, entries=entries, diagnose=not wrong, probes=2 if wrong else DEFAULT_PROBES,
                    pieces=pieces)  # fmt: skip
    ratios = report.relative_error / report.tolerance
    for p, i in enumerate(report.entries.tolist()):
        d = report.diagnoses.get(i)
        if d is not None and d.kind == "kink":
            ratios[p] = 0.0  # no derivative exists there
        elif d is not None and d.kind == "truncation" and d.passes_at_h10:
            ratios[p] = d.error_h10 / d.tolerance_h10  # judged at the step that resolves it
    ratio = float(np.max(ratios)) if ratios.size else 0.0
    how = f"{report.entries.size} entries"
    if entries is not None:
        if not (wrong and ratio > 10.0):
            d = _quiet(directional_check, case.f, grad, case.x, pieces=pieces)
            counted = ~d.crossed_kink
            if counted.any():
                ratio = max(ratio, float(np.max((d.discrepancy / d.tolerance)[counted])))
            how += f" of {case.size} + {int(counted.sum())} directions"
        else:
            how += f" of {case.size}"
    return ratio, f"{how}, {report.evaluations} evaluations"


def has_kinks(case: Case) -> bool:
    """True for cases with ReLU kinks (non-differentiable points somewhere in the network)."""
    return case.kinks is not None and case.kinks(case.x).shape[0] > 0


def entrywise_measurement(case: Case, grad: Any, rng: np.random.Generator, name: str, extra: Any = (), *, wrong: bool = False) -> Measurement:
    """:func:`case_ratio` as a Measurement: the worst error/tolerance of `grad` over the checked entries, held to 1."""
    ratio, how = case_ratio(case, grad, rng, extra, wrong=wrong)
    return Measurement(ratio, 1.0, None, f"{name}: max error/tolerance {ratio:.3g} ({how})")


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
        ratio, how = case_ratio(flat, flat.grad, rng, wrong=True, only=_planted_sample(bug, flat))
        out.append(Measurement(ratio, 1.0, None, f"{bug.name}: max error/tolerance {ratio:.3g} ({how})"))
    return out


#: Entries of a generic planted bug that its control checks: the largest changed ones.
PLANTED_SAMPLE = 4


def _planted_sample(bug: PlantedBug, flat: Case) -> np.ndarray | None:
    """The :data:`PLANTED_SAMPLE` entries the bug changed with the largest wrong gradient; None (the usual sample) for a wrong backward pass.

    A full check's worst error/tolerance is at least that over any of its
    entries, so a bug caught on these entries is caught by the full check too.
    """
    if bug.entries is None:
        return None
    g = np.abs(to_numpy(flat.grad(flat.x)).reshape(-1))[bug.entries]
    return bug.entries[np.argsort(-g)[:PLANTED_SAMPLE]]


def localisation_measurement(ctx: Context, guess: bool) -> list[Measurement]:
    r"""Localise each planted bug, repair the entries found, and re-check the gradient.

    Notes
    -----
    The entries :func:`localize` returns are replaced by Richardson differences;
    if they are exactly the wrong ones, the repaired gradient passes the check
    of :func:`case_ratio` (error/tolerance <= 1). A reported entry that the bug
    did not touch counts as a failure (infinite residual). The bugs: the
    generic perturbations of :func:`gc_theory.models.cases.planted_bugs` on every
    registered model (whose layers claim gradcheck.bugs.caught covers one by
    one; a case's own wrong backward pass may change every entry, which is
    check_gradient's job). Small cases get all three bugs; larger ones the
    one-entry sign flip, where localisation's O(log n) cost matters (a factor 2
    makes every entry wrong, and then check_gradient is the tool). In float32
    only the sign flip is localised: a factor 2 on an entry with a small
    gradient is an error below the group tests' float32 tolerance (the entrywise
    check still catches it; claim gradcheck.bugs.caught). Models with
    ReLU kinks pass their activation pattern as ``pieces``; in float32 they
    are left out, since the step a kink allows leaves f's rounding above one
    entry's error at some draws (localize then reports the group unresolved). The control repairs as many randomly
    chosen entries as were planted, instead of the localised ones.
    """
    out = []
    seed = int(ctx.rng.integers(0, 2**31))
    rng = ctx.spawn("repairs").rng
    for bug in planted_bugs(ctx.xp, ctx.dtype, seed, kinds=["model"]):
        if bug.entries is None:
            continue  # a wrong backward pass may change every entry: check_gradient's job, not localisation's
        case = flat_case(bug.case, ctx.xp)  # the value is right, the gradient wrong
        if bug.bug != "sign_flip" and (case.size > FULL_CHECK_MAX or "64" not in str(case.x.dtype)):
            continue  # float32: entries with small gradients sit below the group tests' tolerance
        if "64" not in str(case.x.dtype) and has_kinks(case):
            # float32 with ReLU kinks: the group tests' step must stay inside one activation pattern
            # (about 2e-5 here), where f's float32 rounding over h swamps one flipped entry's error at
            # some draws. localize says so (an unresolved group, "use check_gradient on them") rather
            # than naming a wrong entry, and check_gradient catches the bug (gradcheck.bugs.caught).
            continue
        wrong, planted = case.grad, bug.entries
        if guess:
            others = np.setdiff1d(np.arange(case.size), planted)
            idx = rng.choice(others, size=min(planted.size, others.size), replace=False)
            found = None
        else:
            found = localize(case.f, wrong, case.x, seed=ctx.seed, pieces=case.kinks if has_kinks(case) else None)
            idx = found.indices
        # Richardson (O(h^4)) so that the repaired entries are far more accurate than the check's tolerance.
        numeric = to_numpy(numerical_gradient(case.f, case.x, "richardson", entries=idx)) if idx.size else np.zeros(0)
        repaired_host = to_numpy(wrong(case.x)).reshape(-1).astype(np.float64)
        repaired_host[idx] = numeric
        repaired = ctx.asarray(repaired_host.reshape(tuple(case.x.shape)))
        ratio, how = case_ratio(case, repaired, rng, extra=np.union1d(idx, planted))
        extra = np.setdiff1d(idx, planted)
        residual = math.inf if (extra.size and not guess) else ratio
        what = f"{idx.size} random entries repaired" if found is None else f"{idx.size} found in {found.evaluations} evaluations"
        out.append(Measurement(residual, 1.0, None, f"{bug.name}: {planted.size} planted, {what}; repaired error/tolerance {ratio:.3g} ({how})"))
    return out


@claim(
    "gradcheck.bugs.localized",
    statement="localize() finds exactly the entries a planted bug (sign flip in one entry, factor 2, transposed weight gradient) made wrong: repairing them makes the gradient pass",
    source=f"{NOTES}; group testing by bisection on random directions",
    control="repairing as many randomly chosen entries instead of the localised ones",
)
def _bugs_localized(ctx: Context, control: bool) -> list[Measurement]:
    return localisation_measurement(ctx, guess=control)
