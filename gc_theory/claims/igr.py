r"""Claims of implicit gradient regularisation: backward error analysis, measured and derived.

Slope claims fit the order of an error on a ladder :math:`h_i = h_{\max}/2^i`
with :math:`h_{\max}\lambda_{\max} = 0.2` (:mod:`gc_theory.verify.order_fit`): the
tolerance is the ladder's own drift, and each control is a field whose error
keeps an order one lower, so it misses by far more than the control margin.
Everything here runs on NumPy/SciPy in float64 (the flows are SciPy's), or
exactly in SymPy.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import numpy as np

from gc_theory.verify.order_fit import fit_order, geometric_ladder
from gc_theory.igr import (
    MeanLoss,
    adam_descent,
    dense_lambda_max,
    descend_to_rest,
    epoch,
    euler_series_field,
    explicit_regularization,
    fixed_time_errors,
    flow,
    gaussian_loss_increase,
    gradient_descent,
    modified_field,
    momentum_descent,
    one_step_errors,
    partitions,
    shuffled_epoch_mean,
    shuffling_modified_loss,
)
from gc_theory.landscape.minibatch import batch_covariance
from gc_theory.problems import Quadratic, Quartic, TwoParameter, Valley
from gc_theory.verify.tolerances import gamma, unit_roundoff
from . import NUMPY_ONLY, SYMBOLIC, Context, Measurement, claim

SOURCE = "Barrett & Dherin, Implicit Gradient Regularization, ICLR 2021"
#: h_max * lambda_max on every ladder: deep inside the region where the series converges.
H_LAMBDA = 0.2
RUNGS = 6
MOMENTUM_RUNGS = 8
#: Steps at h_max for fixed-time claims: T = N0 * h_max.
N0 = 8


def _problems(ctx: Context) -> Iterator[tuple[str, object, np.ndarray]]:
    """The quartic bowl and the two-parameter model, each from a drawn start."""
    rng = ctx.spawn("quartic").rng
    yield "quartic", Quartic([0.5, 1.0, 2.0], c=1.0, seed=1), rng.uniform(-0.6, 0.6, 3)
    rng = ctx.spawn("two_parameter").rng
    yield "two-parameter", TwoParameter(x=1.0, y=1.0), np.array([rng.uniform(1.2, 1.8), rng.uniform(0.1, 0.4)])


def _gd_step(problem) -> Callable[[np.ndarray, float], np.ndarray]:
    return lambda theta, h: theta - h * problem.grad(theta)


def _gd_run(problem) -> Callable[[np.ndarray, float, int], np.ndarray]:
    return lambda theta, h, n: gradient_descent(problem, theta, h, n)[-1]


def _gd_fields(problem, lam: float, control: bool) -> list[tuple[int, str, Callable[[float], Callable]]]:
    """(order claimed, label, field of h): the derived fields, or the controls with a wrong coefficient."""
    if control:
        return [(1, "IGR coefficient 1/8 for 1/4", lambda h: euler_series_field(problem, h, 0.25, None)),
                (2, "1/12 and 1/3 swapped", lambda h: euler_series_field(problem, h, 0.5, (1 / 12, 1 / 3)))]
    return [(k, f"order-{k} field", lambda h, k=k: modified_field(problem, h, order=k, lambda_max=lam))
            for k in (0, 1, 2)]


@claim(
    "igr.local_error.order",
    statement="one GD step differs from the flow of the order-k modified field by O(h^(k+2)): slopes 2, 3, 4",
    source=f"{SOURCE}, Sec. 3; Hairer, Lubich & Wanner, Ch. IX.1",
    control="IGR coefficient 1/8 instead of 1/4 (claimed slope 3), 1/12 and 1/3 swapped (claimed slope 4)",
    runs_on=NUMPY_ONLY,
)
def _local_error(ctx: Context, control: bool) -> Iterator[Measurement]:
    def errors(problem, field_for, theta0, steps):
        return one_step_errors(_gd_step(problem), field_for, theta0, steps)

    return _gd_orders(ctx, control, errors, 2, "")


def _gd_orders(ctx: Context, control: bool, errors_of: Callable, offset: int, where: str) -> Iterator[Measurement]:
    """GD against each order-k field (or a control) on each problem's ladder: the order k + `offset`."""
    for name, problem, theta0 in _problems(ctx):
        lam = dense_lambda_max(problem, theta0)
        steps = geometric_ladder(H_LAMBDA / lam, RUNGS)
        for k, label, field_for in _gd_fields(problem, lam, control):
            errors, floors = errors_of(problem, field_for, theta0, steps)
            yield fit_order(steps, errors, rounding_floor=floors).measure(k + offset, f"{name}, {label}{where}")


@claim(
    "igr.global_error.order",
    statement="at fixed time T, GD differs from the flow of the order-k modified field by O(h^(k+1)): slopes 1, 2, 3",
    source=f"{SOURCE}, Sec. 3; Hairer, Lubich & Wanner, Ch. IX.1",
    control="IGR coefficient 1/8 instead of 1/4 (claimed slope 2), 1/12 and 1/3 swapped (claimed slope 3)",
    runs_on=NUMPY_ONLY,
)
def _global_error(ctx: Context, control: bool) -> Iterator[Measurement]:
    def errors(problem, field_for, theta0, steps):
        return fixed_time_errors(_gd_run(problem), field_for, theta0, steps, N0)

    return _gd_orders(ctx, control, errors, 1, f", T = {N0} h_max")


@claim(
    "igr.symbolic.series",
    statement="x/(e^x - 1) = 1 - x/2 + x^2/12 + 0 x^3 - x^4/720; f_2 = -f'f/2, f_3 = f''(f,f)/12 + f'f'f/3 "
              "by matching Taylor series; GD minus the order-k flow is O(h^(k+2)) as a series in h",
    source="Hairer, Lubich & Wanner, Ch. IX.1; " + SOURCE + ", Sec. 3",
    control="f_2 = -f'f/4: GD minus the order-1 flow keeps an h^2 term",
    runs_on=SYMBOLIC,
)
def _symbolic(ctx: Context, control: bool) -> Measurement:
    import sympy as sp

    from gc_theory.igr import symbolic as s

    f = sp.Function("f")(s.y)
    if control:
        order = s.euler_error_order([-f * f.diff(s.y) / 4], order=1)
        return Measurement(float(order != 3), 0.0, None, f"lowest power of h left: {order} (claimed 3)")
    failures = []
    if s.bernoulli_series(5) != [1, sp.Rational(-1, 2), sp.Rational(1, 12), 0, sp.Rational(-1, 720)]:
        failures.append(f"Bernoulli series {s.bernoulli_series(5)}")
    f2, f3 = s.euler_modified_terms(3)
    fp, fpp = f.diff(s.y), f.diff(s.y, 2)
    if sp.expand(f2 + f * fp / 2) != 0 or sp.expand(f3 - fpp * f**2 / 12 - fp**2 * f / 3) != 0:
        failures.append(f"scalar f_2, f_3 = {f2}, {f3}")
    for k in (0, 1, 2):
        if (got := s.euler_error_order(order=k)) not in (k + 2, 0):
            failures.append(f"order-{k} flow: lowest power h^{got}, claimed h^{k + 2}")
    return Measurement(float(len(failures)), 0.0, None, "; ".join(failures) or "every coefficient derived as stated")


@claim(
    "igr.quadratic.exact_modified_loss",
    statement="on L = theta^T A theta/2, n GD steps equal the flow of theta^T (-log(I - hA)/h) theta/2 "
              "at time nh, to rounding",
    source=f"{SOURCE}, Sec. 3; Hairer, Lubich & Wanner, Ch. IX",
    control="the first-order modified loss theta^T (A + (h/2) A^2) theta/2: an O(h^2) error remains",
    runs_on=NUMPY_ONLY,
)
def _quadratic_exact(ctx: Context, control: bool) -> Iterator[Measurement]:
    r"""Notes: GD's iterate is :math:`(I - hA)^n\theta_0`, the flow's :math:`Qe^{-t\tilde\Lambda}Q^\top\theta_0`.

    Rounding: each GD step rounds a matrix-vector product of length d and a
    subtraction, :math:`\gamma_{d+2}(1 + h\||A|\|_2)\|\theta\|`, and
    :math:`I - hA` does not amplify it (:math:`0 < h\lambda < 1`); the flow
    applies two products with Q, :math:`2\gamma_d`, and exponentials whose
    relative error :math:`t\mu\cdot 2u` times :math:`e^{-t\mu}` stays below u.
    Over n steps: :math:`(n + 3)\gamma_{d+2}(1 + h\||A|\|_2)\|\theta_0\|_2`.
    """
    for d, spectrum in ((4, (0.1, 0.5, 1.0, 2.0)), (16, tuple(np.geomspace(0.01, 3.0, 16)))):
        rng = ctx.spawn(f"d={d}").rng
        problem = Quadratic(spectrum, seed=int(rng.integers(2**31)))
        theta0 = rng.standard_normal(d)
        abs_norm = float(np.linalg.norm(np.abs(problem.matrix), 2))
        for h_lambda, n in ((0.2, 200), (0.9, 60)):
            h = h_lambda / problem.lambda_max
            gd = gradient_descent(problem, theta0, h, n)[-1]
            if control:
                first = problem.matrix + 0.5 * h * problem.matrix @ problem.matrix
                w, v = np.linalg.eigh(first)
                predicted = v @ (np.exp(-n * h * w) * (v.T @ theta0))
            else:
                predicted = problem.modified_flow(theta0, h, n * h)
            tol = (n + 3) * gamma(d + 2, np.float64) * (1.0 + h * abs_norm) * float(np.linalg.norm(theta0))
            yield Measurement(float(np.max(np.abs(gd - predicted))), tol, float(np.linalg.norm(theta0)),
                              f"d={d}, h*lambda_max={h_lambda}, {n} steps")


@claim(
    "igr.two_parameter.invariants",
    statement="on L = (y - abx)^2/2: GF conserves Q = a^2 - b^2; GD multiplies Q by 1 - h^2x^2r_n^2 per step; "
              "||grad L||^2 = 2x^2(a^2 + b^2)L",
    source=f"{SOURCE}, Sec. 3 (the two-parameter model)",
    control="GD's Q predicted as conserved (factor 1); ||grad L||^2 = x^2(a^2 + b^2)L",
    runs_on=NUMPY_ONLY,
)
def _two_parameter_invariants(ctx: Context, control: bool) -> Iterator[Measurement]:
    r"""Notes: GD's factor is exact algebra, :math:`a_+^2 - b_+^2 = (a^2 - b^2)(1 - h^2x^2r^2)`.

    Tolerances: computing Q rounds a few times, :math:`\gamma_4(a^2 + b^2)`; one GD
    update and the factor add :math:`\gamma_8(a^2 + b^2)(1 + h|rx|)^2`. The flow's Q
    moves by at most :math:`2\|\theta\|\,\delta` for a state error :math:`\delta`
    (the flow's own estimate, times 10 for the estimate's reliability).
    """
    rng = ctx.spawn("starts").rng
    problem = TwoParameter(x=1.3, y=0.8)
    u = unit_roundoff(np.float64)
    for _ in range(3):
        theta = np.array([rng.uniform(0.5, 2.0), rng.uniform(-1.5, 1.5)])
        size = float(theta @ theta)
        if not control:
            end = flow(lambda t: -problem.grad(t), theta, 2.0)
            tol = 2.0 * np.sqrt(size) * 10.0 * end.error + gamma(4, np.float64) * 4.0 * size
            yield Measurement(abs(problem.conserved(end.theta) - problem.conserved(theta)), tol, size, "GF, T = 2")
        h = 0.5 / problem.sharpness(theta)
        r = problem.residual(theta)
        after = theta - h * problem.grad(theta)
        factor = 1.0 if control else 1.0 - (h * problem.x * r) ** 2
        tol = gamma(8, np.float64) * size * (1.0 + h * abs(r * problem.x)) ** 2 * 4.0
        yield Measurement(abs(problem.conserved(after) - factor * problem.conserved(theta)), tol, size,
                          f"GD step h = {h:.3g}")
        g = problem.grad(theta)
        k = 1.0 if control else 2.0
        predicted = k * problem.x**2 * size * problem.value(theta)
        yield Measurement(abs(float(g @ g) - predicted), gamma(8, np.float64) * 4.0 * abs(predicted) + u * float(g @ g),
                          float(g @ g), "gradient norm")


@claim(
    "igr.two_parameter.endpoint",
    statement="on the two-parameter model, GD's point at time T matches the IGR flow's to O(h^2) (slope 2)",
    source=f"{SOURCE}, Sec. 3 and Fig. 1",
    control="the plain gradient flow's point: only O(h) (claimed slope 2)",
    runs_on=NUMPY_ONLY,
)
def _two_parameter_endpoint(ctx: Context, control: bool) -> Iterator[Measurement]:
    rng = ctx.spawn("starts").rng
    problem = TwoParameter(x=1.0, y=1.0)
    for _ in range(2):
        theta0 = np.array([rng.uniform(1.5, 2.5), rng.uniform(0.05, 0.3)])
        lam = dense_lambda_max(problem, theta0)
        steps = geometric_ladder(H_LAMBDA / lam, RUNGS)
        order = 0 if control else 1
        errors, floors = fixed_time_errors(_gd_run(problem), lambda h: modified_field(problem, h, order=order,
                                                                                       lambda_max=lam),
                                           theta0, steps, 4 * N0)
        yield fit_order(steps, errors, rounding_floor=floors).measure(2, f"start {np.round(theta0, 3).tolist()}")


@claim(
    "igr.explicit.step_replacement",
    statement="GD at step h/4 on L + (3h/16)||grad L||^2 tracks GD at step h on L to O(h^2) at fixed time; "
              "grad L(theta + rho g) = grad(L + (rho/2)||g||^2) + O(rho^2) (unnormalised SAM)",
    source=f"{SOURCE}, Sec. 4 (explicit gradient regularisation); Foret et al., SAM, ICLR 2021",
    control="without the penalty (mu = 0): O(h); SAM against L + rho ||g||^2: O(rho)",
    runs_on=NUMPY_ONLY,
)
def _explicit(ctx: Context, control: bool) -> Iterator[Measurement]:
    r"""Notes: GD at step h on L follows :math:`L + \tfrac h4\|g\|^2`; GD at step h/4 on
    :math:`L_\mu = L + \mu\|g\|^2` follows :math:`L_\mu + \tfrac h{16}\|\nabla L_\mu\|^2 =
    L + (\mu + \tfrac h{16})\|g\|^2 + O(h^2)`; equal for :math:`\mu = 3h/16`.
    SAM: :math:`\nabla L(\theta + \rho g) = g + \rho Hg + O(\rho^2)`, the gradient of
    :math:`L + \tfrac\rho2\|g\|^2`.
    """
    for name, problem, theta0 in _problems(ctx):
        lam = dense_lambda_max(problem, theta0)
        steps = geometric_ladder(H_LAMBDA / lam, RUNGS)
        T = N0 * steps[0]
        errors = []
        for h in steps:
            n = int(round(T / h))
            coarse = gradient_descent(problem, theta0, h, n)[-1]
            regularised = explicit_regularization(problem, 0.0 if control else 3.0 * h / 16.0)
            errors.append(float(np.max(np.abs(gradient_descent(regularised, theta0, h / 4.0, 4 * n)[-1] - coarse))))
        floors = 4.0 * (4 * T / steps + 1) * unit_roundoff(np.float64) * 2.0 * (1.0 + np.max(np.abs(theta0)))
        yield fit_order(steps, errors, rounding_floor=floors).measure(2, f"{name}, EGR at h/4")
        g = problem.grad(theta0)
        penalty = explicit_regularization(problem, 1.0 if control else 0.5)
        sam = [float(np.max(np.abs(problem.grad(theta0 + rho * g) - (g + 2 * penalty.mu * rho * problem.hvp(theta0, g)))))
               for rho in steps]
        floors = 8.0 * unit_roundoff(np.float64) * (1.0 + float(np.max(np.abs(g)))) * np.ones_like(steps)
        yield fit_order(steps, sam, rounding_floor=floors).measure(2, f"{name}, SAM gradient")


def _momentum_problem(ctx: Context) -> tuple[Quartic, np.ndarray, float]:
    """The quartic of the momentum and Adam slope claims, a drawn start and its largest Hessian eigenvalue."""
    problem = Quartic([0.5, 1.0, 2.0], c=1.0, seed=1)
    theta0 = ctx.spawn("start").rng.uniform(-0.6, 0.6, 3)
    return problem, theta0, dense_lambda_max(problem, theta0)


@claim(
    "igr.momentum.modified_flow",
    statement="heavy ball and Nesterov (warm start) follow -(1/(1-beta)) grad[L + h c_beta ||grad L||^2] to O(h^2) "
              "at fixed time, c_HB = (1+beta)/(4(1-beta)^2), c_N = (1-beta+2beta^2)/(4(1-beta)^2)",
    source="Ghosh et al., ICLR 2023 (heavy ball); Nesterov's coefficient derived in gc_theory.igr.symbolic",
    control="the other method's coefficient, the plain flow -g/(1-beta), a cold start v_1 = g_0: O(h)",
    runs_on=NUMPY_ONLY,
)
def _momentum(ctx: Context, control: bool) -> Iterator[Measurement]:
    problem, theta0, lam = _momentum_problem(ctx)
    beta = 0.5
    # The effective step of momentum is h/(1-beta): the ladder keeps h lambda/(1-beta) <= 0.2. Two rungs more
    # than the GD claims: a wrong coefficient leaves an O(h) term small beside the O(h^2) one, and its slopes
    # reach 1 only below h lambda ~ 0.01 (with 6 rungs that control missed by 9x at some seeds).
    steps = geometric_ladder(H_LAMBDA * (1.0 - beta) / lam, MOMENTUM_RUNGS)
    for method in ("heavy_ball", "nesterov"):
        other = "nesterov" if method == "heavy_ball" else "heavy_ball"
        cases = [("other coefficient", other, 1, True), ("plain flow", method, 0, True), ("cold start", method, 1, False)] \
            if control else [("warm start", method, 1, True)]
        for label, field_method, order, warm in cases:
            def run(theta, h, n, method=method, warm=warm):
                return momentum_descent(problem, theta, h, n, beta=beta, method=method, warm=warm)[-1]

            def field_for(h, field_method=field_method, order=order):
                return modified_field(problem, h, method=field_method, order=order, beta=beta, lambda_max=lam)

            errors, floors = fixed_time_errors(run, field_for, theta0, steps, N0)
            yield fit_order(steps, errors, rounding_floor=floors).measure(2, f"{method}, beta={beta}, {label}")


#: Four examples with different curvatures, two per minibatch: every ordering is enumerated (4! = 24).
_SGD_SPECTRA = ((0.2, 3.0), (3.0, 0.2), (1.0, 2.0), (0.5, 0.5))


@claim(
    "igr.sgd.shuffling",
    statement="averaged over every ordering, one epoch of SGD with random shuffling follows the flow of "
              "L + (h/4m) E sum_k ||grad L_k||^2 over time mh to O(h^3); and E (1/m) sum_k ||g_k - g||^2 "
              "= ((N - B)/(B (N - 1))) tr Sigma exactly",
    source="Smith, Dherin, Barrett & De, On the Origin of Implicit Regularization in SGD, ICLR 2021, Sec. 2",
    control="the full-batch IGR flow, a single unaveraged ordering (both O(h^2)); Sigma/B (with replacement)",
    runs_on=NUMPY_ONLY,
)
def _sgd_shuffling(ctx: Context, control: bool) -> Iterator[Measurement]:
    r"""Notes: the identity's tolerance: a mean of K partition averages of B-term means,
    :math:`\gamma_{K + B + P + 4}` times :math:`\sum_i\|g_i\|^2` (each squared norm and
    difference is bounded by that sum).
    """
    examples = [Quartic(spectrum, c=0.5, seed=i + 7) for i, spectrum in enumerate(_SGD_SPECTRA)]
    batch, m = 2, len(examples) // 2
    theta0 = np.array([0.5, -0.4])
    full = MeanLoss(examples)
    steps = geometric_ladder(H_LAMBDA / dense_lambda_max(full, theta0), RUNGS + 2)

    def smith(h):
        loss = shuffling_modified_loss(examples, h, batch)
        return lambda t: -loss.grad(t)

    def mean_epoch(t, h):
        return shuffled_epoch_mean(examples, t, h, batch)

    def igr(h):
        return lambda t: -full.grad(t) - 0.5 * h * full.hvp(t, full.grad(t))

    cases = [("full-batch IGR flow", igr, mean_epoch),
             ("one ordering", smith, lambda t, h: epoch(examples, (0, 1, 2, 3), t, h, batch))] \
        if control else [("mean over orderings", smith, mean_epoch)]
    for label, field_for, step in cases:
        # Eight RK4 substeps suffice: their error (mh)^5/8^4 is in the floor and stays 1e4 below the O(h^3) errors.
        errors, floors = one_step_errors(step, field_for, theta0, steps, span=m, substeps=8)
        yield fit_order(steps, errors, rounding_floor=floors).measure(3, f"N=4, B=2, {label}")
    per_example = np.array([p.grad(theta0) for p in examples])
    g = per_example.mean(axis=0)
    parts = partitions(len(examples), batch)
    spread = np.mean([np.mean([np.sum((per_example[list(b)].mean(axis=0) - g) ** 2) for b in part]) for part in parts])
    covariance = batch_covariance(per_example, batch, replacement=control)
    size = float(np.sum(per_example**2))
    tol = gamma(len(parts) + batch + per_example.shape[1] + 4, np.float64) * size
    yield Measurement(abs(float(spread) - float(np.trace(covariance))), tol, size,
                      f"finite-population identity over {len(parts)} partitions")


@claim(
    "igr.f3.not_a_gradient",
    statement="the h^2 term -(1/3)H^2 g - (1/12)T[g, g] of GD's modified field has non-zero curl on the "
              "two-parameter model (no modified loss beyond first order) and zero curl on a quadratic",
    source=f"{SOURCE}, Sec. 3 (a modified loss exists to first order); Hairer, Lubich & Wanner, Ch. IX.3",
    control="the statements swapped: zero curl claimed for the two-parameter model, non-zero for the quadratic",
    runs_on=SYMBOLIC,
)
def _f3_curl(ctx: Context, control: bool) -> Measurement:
    import sympy as sp

    from gc_theory.igr.symbolic import f3_curl

    a, b, x, y = sp.symbols("a b x y")
    two_parameter = f3_curl((y - a * b * x) ** 2 / 2, (a, b))
    quadratic = f3_curl(3 * a**2 + a * b + b**2 / 2, (a, b))
    wrong = [name for name, curl, zero in (("two-parameter", two_parameter, control), ("quadratic", quadratic, not control))
             if (curl == 0) != zero]
    return Measurement(float(len(wrong)), 0.0, None,
                       f"curl on the two-parameter model: {two_parameter}; on the quadratic: {quadratic}"
                       + (f"; wrong for {', '.join(wrong)}" if wrong else ""))


#: Adam's cases for the slope claim: (method, beta, rho, eps); eps keeps sqrt(g^2 + eps) away from 0 on the path.
_ADAM_CASES = (("adam", 0.5, 0.75, 0.01), ("rmsprop", 0.0, 0.75, 0.01))


@claim(
    "igr.adam.modified_flow",
    statement="Adam and RMSprop (epsilon inside the root, moments started on their slow values) follow "
              "theta_j' = -g_j/s_j - (h/s_j^3)((b - r)g_j^2 + (b + 1/2)eps) d_j N_eps to O(h^2) at fixed time, "
              "s = sqrt(g^2 + eps), b = beta/(1-beta), r = rho/(1-rho), N_eps = sum_j s_j",
    source="Cattaneo, Klusowski & Shigida, On the Implicit Bias of Adam, ICML 2024; derived in "
           "gc_theory.igr.symbolic.adam_correction",
    control="the plain preconditioned flow -g/sqrt(g^2 + eps), and moments started at zero: O(h)",
    runs_on=NUMPY_ONLY,
)
def _adam(ctx: Context, control: bool) -> Iterator[Measurement]:
    problem, theta0, lam = _momentum_problem(ctx)
    for method, beta, rho, eps in _ADAM_CASES:
        # The moments average over about 1/(1 - max(beta, rho)) steps: the ladder shrinks with that memory.
        steps = geometric_ladder(H_LAMBDA * (1.0 - max(beta, rho)) / lam, RUNGS + 1)
        cases = [("plain preconditioned flow", 0, True), ("moments from zero", 1, False)] if control \
            else [("warm moments", 1, True)]
        for label, order, warm in cases:
            def run(theta, h, n, beta=beta, rho=rho, eps=eps, warm=warm):
                return adam_descent(problem, theta, h, n, beta=beta, rho=rho, eps=eps, warm=warm)[-1]

            def field_for(h, method=method, beta=beta, rho=rho, eps=eps, order=order):
                return modified_field(problem, h, method=method, order=order, beta=beta, rho=rho, eps=eps,
                                      lambda_max=lam)

            errors, floors = fixed_time_errors(run, field_for, theta0, steps, N0)
            yield fit_order(steps, errors, rounding_floor=floors).measure(
                2, f"{method}, beta={beta}, rho={rho}, eps={eps}, {label}")


def _one_norm(problem, theta: np.ndarray, eps: float) -> float:
    g = problem.grad(theta)
    return float(np.sum(np.sqrt(g * g + eps)))


@claim(
    "igr.adam.one_norm",
    statement="Adam penalises the perturbed one-norm N_eps = sum_j sqrt(g_j^2 + eps) when beta/(1-beta) > "
              "rho/(1-rho) and anti-penalises it when rho/(1-rho) is larger: N_eps at Adam's point minus N_eps "
              "at the plain preconditioned flow's has the sign of rho/(1-rho) - beta/(1-beta)",
    source="Cattaneo, Klusowski & Shigida, On the Implicit Bias of Adam, ICML 2024, Sec. 1 and 3",
    control="the opposite sign claimed for each (beta, rho)",
    runs_on=NUMPY_ONLY,
)
def _adam_one_norm(ctx: Context, control: bool) -> Iterator[Measurement]:
    r"""Notes: the measured quantity is :math:`\Delta N = N_\epsilon(\theta_n) - N_\epsilon(\varphi_{nh}(\theta_0))`
    with :math:`\varphi` the plain flow; the claim holds when :math:`\sigma\Delta N \le -e`,
    :math:`\sigma = \mathrm{sign}(\bar\beta - \bar\rho)`, e the flow's error estimate
    times the gradient's Lipschitz bound plus the rounding of n steps: the sign is
    then decided beyond every error, so the residual :math:`\max(0, \sigma\Delta N + e)`
    is held to 0. With :math:`\epsilon = 10^{-3} \ll g_j^2` the
    :math:`(\bar\beta + \tfrac12)\epsilon` part of the correction, which always
    penalises, is too small to decide the sign.
    """
    problem = Quartic([0.5, 1.0, 2.0], c=1.0, seed=1)
    eps, h, T = 1e-3, 0.0025, 0.5
    n = int(round(T / h))
    # Fixed starts, not drawn: along these paths every |g_j| stays >= 0.22, so g_j^2 >= 50 eps. A drawn start
    # can send a coordinate of g through 0, where the always-penalising eps part decides (seen at seed 4).
    for start, (beta, rho) in itertools.product(((0.5, -0.4, 0.6), (0.4, 0.5, -0.6)),
                                                ((0.8, 0.5), (0.5, 0.8), (0.9, 0.5), (0.5, 0.9))):
        theta0 = np.asarray(start)
        lipschitz = 4.0 * dense_lambda_max(problem, theta0)
        b, r = beta / (1.0 - beta), rho / (1.0 - rho)
        sign = np.sign(b - r) * (-1.0 if control else 1.0)
        adam = adam_descent(problem, theta0, h, n, beta=beta, rho=rho, eps=eps)[-1]
        plain = flow(modified_field(problem, h, method="adam", order=0, beta=beta, rho=rho, eps=eps), theta0, n * h)
        delta = _one_norm(problem, adam, eps) - _one_norm(problem, plain.theta, eps)
        error = (10.0 * plain.error + 4.0 * (n + 1) * unit_roundoff(np.float64)) * lipschitz * theta0.size
        verdict = "penalised" if delta < 0 else "anti-penalised"
        yield Measurement(max(0.0, float(sign * delta) + error), 0.0, abs(delta),
                          f"start {start}, beta/(1-beta) = {b:g}, rho/(1-rho) = {r:g}: "
                          f"Delta N = {delta:.3e} ({verdict}), "
                          f"error bound {error:.1e}")


@claim(
    "igr.quadratic.stability",
    statement="GD on a quadratic contracts by max_i |1 - h lambda_i| per step: it converges for h lambda_max < 2 "
              "and diverges for h lambda_max > 2",
    source="linear stability of explicit Euler; Cohen et al., Edge of Stability, ICLR 2021, Sec. 2",
    control="the mean curvature deciding: |1 - h mean(lambda)| per step",
    runs_on=NUMPY_ONLY,
)
def _quadratic_stability(ctx: Context, control: bool) -> Iterator[Measurement]:
    r"""Notes: the measured rate is :math:`(\|\theta_{2n}\|/\|\theta_n\|)^{1/n}`. Exactly,
    :math:`\theta_k = Q(I - h\Lambda)^kQ^\top\theta_0`, so the rate differs from
    :math:`\rho = \max_i|1 - h\lambda_i|` by at most
    :math:`\rho\,((\rho_2/\rho)^n\|\theta_0\|/|q^\top\theta_0|)^{1/n}`-type terms: bounded by
    :math:`\rho\,(2/n)(\rho_2/\rho)^{n}\|\theta_0\|/|q^\top\theta_0|` with :math:`\rho_2`
    the second largest factor; rounding adds :math:`\gamma_{d+2}(1 + h\||A|\|)` per step,
    :math:`(2/n)\cdot 2n\gamma_{d+2}(1 + h\||A|\|)\rho` in the rate.
    """
    rng = ctx.spawn("start").rng
    spectrum = (0.1, 0.5, 1.0)
    problem = Quadratic(spectrum, seed=int(rng.integers(2**31)))
    theta0 = rng.standard_normal(len(spectrum))
    top = problem.eigenvectors[:, int(np.argmax(problem.spectrum))]
    abs_norm = float(np.linalg.norm(np.abs(problem.matrix), 2))
    n = 300
    for h_lambda in (1.9, 1.98, 2.02, 2.1):
        h = h_lambda / problem.lambda_max
        path = gradient_descent(problem, theta0, h, 2 * n)
        rate = float((np.linalg.norm(path[2 * n]) / np.linalg.norm(path[n])) ** (1.0 / n))
        factors = np.sort(np.abs(1.0 - h * problem.spectrum))
        predicted = abs(1.0 - h * float(np.mean(problem.spectrum))) if control else float(factors[-1])
        mix = (factors[-2] / factors[-1]) ** n * float(np.linalg.norm(theta0)) / abs(float(top @ theta0))
        tol = factors[-1] * (2.0 / n) * (mix + 2 * n * gamma(len(spectrum) + 2, np.float64) * (1.0 + h * abs_norm))
        verdict = "diverges" if rate > 1.0 else "converges"
        yield Measurement(abs(rate - predicted), float(tol), 1.0,
                          f"h lambda_max = {h_lambda}: measured rate {rate:.6f} ({verdict}), predicted {predicted:.6f}")


# Flatness and robustness: what the implicit penalty predicts about where GD comes to rest. Unlike the
# claims above these are not statements about an order in h; they hold below the catapult threshold 2/S_0.

#: (label, problem, start, fractions of 2/S_0 below the threshold, fractions above it where monotonicity fails).
_FLATNESS_RUNS = (
    ("two-parameter", TwoParameter(x=1.0, y=1.0), (2.8, 3.5), (0.1, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95), (1.5, 2.0)),
    ("valley", Valley(), (0.8, 0.1), (0.1, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95), (3.0, 4.0)),
)
#: Gradient norm at which a run counts as at rest.
_GTOL = 1e-10


def _rest_sharpness(problem, theta0: np.ndarray, h: float) -> tuple[float, float, float]:
    """(sharpness at rest, R_IG/L at rest, error bound of the sharpness) of GD with step h."""
    rest = descend_to_rest(problem, theta0, h, gtol=_GTOL)
    if not rest.converged:
        raise ArithmeticError(f"GD with h = {h:g} did not come to rest (|g| = {rest.grad_norm:.3g} "
                              f"after {rest.steps} steps)")
    s = problem.sharpness(rest.theta)
    g = problem.grad(rest.theta)
    # The rest point lies about |g|/S from the set of minima; the sharpness changes by about as much over that step.
    moved = problem.sharpness(rest.theta - g / s)
    return s, float(g @ g) / problem.value(rest.theta), abs(moved - s) + 8.0 * unit_roundoff(np.float64) * s


@claim(
    "igr.flatness.monotone",
    statement="below the catapult threshold h < 2/S_0, the sharpness and R_IG/L = ||grad L||^2/L where GD comes "
              "to rest fall monotonically as h grows, on the two-parameter model and the valley",
    source=f"{SOURCE}, Sec. 3 and 5; Lewkowycz et al., the catapult mechanism, 2020",
    control="the same over steps above 2/S_0, where runs catapult and the order is lost",
    runs_on=NUMPY_ONLY,
)
def _flatness_monotone(ctx: Context, control: bool) -> Iterator[Measurement]:
    r"""Notes: the residual is the largest increase between consecutive steps of the
    grid; its tolerance the sum of the two rest points' sharpness errors (each the
    change of S over the remaining distance :math:`\|g\|/S` to the minima, plus
    rounding), twice that for R_IG/L, which is :math:`2S` at a minimum of either problem.
    """
    for label, problem, start, below, above in _FLATNESS_RUNS:
        theta0 = np.asarray(start, dtype=np.float64)
        s0 = problem.sharpness(theta0)
        fractions = above if control else below
        rests = [_rest_sharpness(problem, theta0, 2.0 * f / s0) for f in fractions]
        for name, k in (("sharpness", 0), ("R_IG/L", 1)):
            values = [r[k] for r in rests]
            rises = [max(0.0, b - a) for a, b in zip(values, values[1:], strict=False)]
            tol = max(rests[i][2] + rests[i + 1][2] for i in range(len(rests) - 1)) * (1 + k)
            shown = ", ".join(f"{v:.4g}" for v in values)
            yield Measurement(max(rises), tol, values[0],
                              f"{label}, {name} at h S_0/2 = {list(fractions)}: [{shown}]")


@claim(
    "igr.flatness.edge_of_stability",
    statement="every GD run that comes to rest ends with sharpness <= 2/h (linear stability), at steps above the "
              "catapult threshold too, where the gradient flow's endpoint is sharper than 2/h",
    source="Cohen et al., Gradient Descent on Neural Networks Typically Occurs at the Edge of Stability, ICLR 2021",
    control="the gradient flow's endpoint held to the same bound 2/h at those steps",
    runs_on=NUMPY_ONLY,
)
def _edge_of_stability(ctx: Context, control: bool) -> Iterator[Measurement]:
    r"""Notes: residual :math:`\max(0, S - 2/h)`, tolerance the sharpness error of
    :func:`_rest_sharpness`. The control's endpoint is GD at :math:`h = 0.05\cdot 2/S_0`,
    which stands in for the flow (its sharpness moves by under 2% down to
    :math:`0.1\cdot 2/S_0`, see ``igr.flatness.monotone``).
    """
    for label, problem, start, _, _ in _FLATNESS_RUNS:
        theta0 = np.asarray(start, dtype=np.float64)
        s0 = problem.sharpness(theta0)
        flat_s = _rest_sharpness(problem, theta0, 0.1 / s0)[0]
        for f in (0.5, 1.5, 2.0, 3.0, 4.0):
            h = 2.0 * f / s0
            if control and flat_s <= 2.0 / h:
                continue
            if not control and not descend_to_rest(problem, theta0, h, gtol=_GTOL).converged:
                continue  # the statement is about runs that come to rest; a diverging run is not one
            s, _, err = _rest_sharpness(problem, theta0, 0.1 / s0 if control else h)
            yield Measurement(max(0.0, s - 2.0 / h), err, 2.0 / h,
                              f"{label}, h S_0/2 = {f}: sharpness {s:.4g}, 2/h = {2.0 / h:.4g}")


@claim(
    "igr.flatness.noise",
    statement="under Gaussian parameter noise of scale sigma, E L(theta + sigma xi) - L(theta) = "
              "(sigma^2/2) tr H + O(sigma^4): exactly (sigma^2/2) x^2(a^2 + b^2) + x^2 sigma^4/2 on the "
              "two-parameter model, slope 4 on the valley",
    source=f"{SOURCE}, Sec. 6 (flatness and robustness)",
    control="without the sigma^4 term on the two-parameter model; the top eigenvalue for tr H on the valley "
            "(slope 2)",
    runs_on=NUMPY_ONLY,
)
def _noise(ctx: Context, control: bool) -> Iterator[Measurement]:
    r"""Notes: with :math:`r_0 = y - abx`, :math:`r = r_0 - \sigma x(a\xi_2 + b\xi_1) - \sigma^2x\xi_1\xi_2`
    and :math:`\mathbb E r^2 = r_0^2 + \sigma^2x^2(a^2 + b^2) + \sigma^4x^2`, while
    :math:`\operatorname{tr}H = x^2(a^2 + b^2)` everywhere. The expectation is a
    3-point Gauss-Hermite rule per coordinate, exact for this degree-4 polynomial;
    its 9 weighted terms round to :math:`\gamma_{12}` times the sum of their magnitudes.
    On the valley a 24-point rule leaves a quadrature error far below the
    :math:`\sigma^4` term, whose slope is fitted on :math:`\sigma_i = 0.05/2^i`.
    """
    rng = ctx.spawn("points").rng
    problem = TwoParameter(x=1.3, y=0.8)
    for _ in range(3):
        theta = np.array([rng.uniform(0.3, 1.5), rng.uniform(-1.5, 1.5)])
        for sigma in (0.1, 0.5):
            measured = gaussian_loss_increase(problem, theta, sigma, nodes=3)
            trace = problem.x**2 * float(theta @ theta)
            predicted = 0.5 * sigma**2 * trace + (0.0 if control else 0.5 * problem.x**2 * sigma**4)
            size = problem.value(theta) + sigma**2 * trace + sigma**4 * problem.x**2
            yield Measurement(abs(measured - predicted), gamma(12, np.float64) * 4.0 * size, size,
                              f"two-parameter at {np.round(theta, 3).tolist()}, sigma = {sigma}")
    valley = Valley()
    theta = np.array([0.5, 0.1])
    hessian = valley.hessian(theta)
    curvature = float(np.linalg.eigvalsh(hessian)[-1]) if control else float(np.trace(hessian))
    sigmas = geometric_ladder(0.05, RUNGS)
    errors = [abs(gaussian_loss_increase(valley, theta, s, nodes=24) - 0.5 * s * s * curvature) for s in sigmas]
    floors = 24 * 24 * 4.0 * unit_roundoff(np.float64) * (valley.value(theta) + 1.0) * np.ones_like(sigmas)
    yield fit_order(sigmas, errors, rounding_floor=floors).measure(4, "valley at (0.5, 0.1)")
