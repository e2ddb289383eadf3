r"""Claims about nonlinear conjugate gradient (:mod:`gc_theory.landscape.cg`).

On an SPD quadratic with the exact step, CG's gradients are mutually orthogonal,
its directions A-conjugate, all five beta formulas give the same iterates, and
the minimiser is reached in at most n steps. In floating point each gradient
:math:`g_k = A x_k - b` carries a rounding error of relative size

.. math::

    \rho_k = \frac{n u\,(\lVert A\rVert \lVert x_k\rVert + \lVert b\rVert)}{\lVert g_k\rVert},

which the recurrence can amplify by up to :math:`\kappa(A)`; the tolerances
below are :math:`\kappa(\rho_i + \rho_j)` for a pair of steps. That local error
model holds while no Ritz value has converged before step n (an evenly spread
spectrum, used here). With clustered extremes (a geometric spectrum) Paige's
mechanism takes over: orthogonality is lost once a Ritz value converges, far
beyond the local model, and at :math:`\kappa = 10^4, n = 10` the gradients are
no longer orthogonal at all (see the notebook).

``cg.wolfe.descent``: with strong Wolfe steps and :math:`c_2 < 1/2`,
Fletcher-Reeves and Dai-Yuan directions are descent directions with the
bounds of Al-Baali and of Dai and Yuan; with :math:`c_2 = 0.9` Fletcher-Reeves
produces an ascent direction on Rosenbrock (Dai-Yuan, which needs only the
weak Wolfe conditions, does not).

``cg.stochastic.conjugacy`` shows why CG is not used for stochastic training:
the same exact step fed with mini-batch gradients loses conjugacy at once
(:mod:`gc_theory.landscape.cg_minibatch`).

References
----------
.. [1] J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed., 2006, Thm. 5.2-5.3.
.. [2] A. Greenbaum, *Iterative Methods for Solving Linear Systems*, SIAM, 1997, Ch. 4.
.. [3] C. C. Paige, "Accuracy and effectiveness of the Lanczos algorithm for the
   symmetric eigenproblem", Linear Algebra Appl. 34 (1980) 235-258.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import rosen, rosen_der

from gc_theory.problems import SPDQuadratic, spd_quadratic
from gc_theory.landscape.cg import pairwise_cosines, nonlinear_cg
from gc_theory.landscape.cg_minibatch import minibatch_cg
from gc_theory.verify.tolerances import gamma, unit_roundoff
from . import NUMPY_ONLY, Context, Measurement, claim

#: Size of the quadratics and the condition numbers swept.
N = 10
KAPPAS = (10.0, 1e2, 1e3)
CG_BETAS = ("FR", "PR", "PR+", "HS", "DY")
#: Rosenbrock: start, SciPy's default gradient tolerance and an iteration budget.
ROSENBROCK_X0 = np.array([-1.2, 1.0])
GTOL = 1e-5
BUDGET = 1000


def _problem(ctx: Context, kappa: float) -> SPDQuadratic:
    return spd_quadratic(np.linspace(1.0, kappa, N), ctx.spawn(f"kappa={kappa:g}").rng)


def _exact_run(q: SPDQuadratic, beta: str, steps: int):
    return nonlinear_cg(q.value, q.grad, np.zeros(N), beta=beta, line_search="exact", hvp=q.hvp,
                        tol=np.finfo(np.float64).tiny, maxiter=steps, return_all=True)  # fmt: skip


def _relative_rounding(q: SPDQuadratic, run) -> np.ndarray:
    """rho_k of the module docstring for every stored step."""
    x, g = np.array(run.allvecs), np.array(run.allgrads)
    norm_a = float(q.eigenvalues.max())
    return N * unit_roundoff(np.float64) * (norm_a * np.linalg.norm(x, axis=1) + np.linalg.norm(q.b)) / np.linalg.norm(g, axis=1)


def _pair_ratio(cos: np.ndarray, rho: np.ndarray, kappa: float) -> float:
    bound = kappa * np.add.outer(rho, rho)
    return float(np.max(cos / bound))


@claim(
    "cg.quadratic.orthogonal",
    statement="CG with exact steps on an SPD quadratic: gradients mutually orthogonal, directions A-conjugate "
    "(to kappa times the gradients' rounding)",
    source="Nocedal & Wright (2006), Thm. 5.3",
    control="steepest descent (beta = 0) with the same exact steps",
    runs_on=NUMPY_ONLY,
)
def _orthogonal(ctx: Context, control: bool):
    for kappa in KAPPAS:
        q = _problem(ctx, kappa)
        run = _exact_run(q, "SD" if control else "PR", N - 1)
        rho = _relative_rounding(q, run)
        for name, cos in (("gradients", pairwise_cosines(run.allgrads)), ("directions", pairwise_cosines(run.alldirs, q.A))):
            # residual / tolerance is the worst pair's cosine over its bound kappa (rho_i + rho_j).
            yield Measurement(_pair_ratio(cos, rho, kappa), 1.0, None, f"{name}, kappa={kappa:g}, max cosine {cos.max():.2e}")


@claim(
    "cg.quadratic.n_steps",
    statement="CG with exact steps reaches the minimiser of an SPD quadratic in n steps, for FR, PR, PR+, HS and DY",
    source="Nocedal & Wright (2006), Thm. 5.2",
    control="steepest descent with exact steps, n steps",
    runs_on=NUMPY_ONLY,
)
def _n_steps(ctx: Context, control: bool):
    for kappa in KAPPAS:
        q = _problem(ctx, kappa)
        x_star = q.minimiser
        size = float(np.sqrt(x_star @ q.A @ x_star))
        for beta in ("SD",) if control else CG_BETAS:
            run = _exact_run(q, beta, N)
            error = run.x - x_star
            # The last steps solve to the rounding of the gradients they use: kappa * max rho in the A-norm.
            tol = kappa * float(np.max(_relative_rounding(q, run)[:-1]))
            yield Measurement(float(np.sqrt(error @ q.A @ error)) / size, tol, None, f"{beta}, kappa={kappa:g}")


@claim(
    "cg.quadratic.same_iterates",
    statement="with exact steps on an SPD quadratic, FR, PR, PR+, HS and DY produce the same iterates",
    source="Nocedal & Wright (2006), Sec. 5.2; Hager & Zhang (2006)",
    control="the same betas with strong Wolfe steps on Rosenbrock, a non-quadratic",
    runs_on=NUMPY_ONLY,
)
def _same_iterates(ctx: Context, control: bool):
    for kappa in KAPPAS:
        q = _problem(ctx, kappa)
        scale = float(np.linalg.norm(q.minimiser))
        if control:  # off the quadratic the betas differ: Rosenbrock, same start for every beta
            runs = {b: nonlinear_cg(rosen, rosen_der, ROSENBROCK_X0, beta=b, tol=GTOL, maxiter=N, return_all=True)
                    for b in CG_BETAS}
        else:
            runs = {b: _exact_run(q, b, N - 1) for b in CG_BETAS}
        reference = runs["FR"]
        tol = kappa * float(np.max(_relative_rounding(q, _exact_run(q, "FR", N - 1))))
        for beta in CG_BETAS[1:]:
            steps = min(len(runs[beta].allvecs), len(reference.allvecs))
            gap = np.max(np.abs(np.array(runs[beta].allvecs[:steps]) - np.array(reference.allvecs[:steps])))
            yield Measurement(float(gap) / scale, tol, None, f"{beta} vs FR, kappa={kappa:g}")


@claim(
    "cg.rosenbrock.converges",
    statement="each beta with a strong Wolfe line search (c2 = 0.4) brings the Rosenbrock gradient (from (-1.2, 1)) below gtol = 1e-5",
    source="Nocedal & Wright (2006), Sec. 5.2 (Zoutendijk, restarts); Al-Baali (1985)",
    control="steepest descent with the same line search and budget",
    runs_on=NUMPY_ONLY,
)
def _rosenbrock(ctx: Context, control: bool):
    for beta in ("SD",) if control else CG_BETAS:
        run = nonlinear_cg(rosen, rosen_der, ROSENBROCK_X0, beta=beta, tol=GTOL, maxiter=BUDGET)
        # gtol is the stopping criterion, not a rounding bound: scale None.
        yield Measurement(float(np.max(np.abs(run.jac))), GTOL, None, f"{beta}: {run.nit} iterations, {run.nfev} f, {run.njev} grad")


#: Least squares for the stochastic claim: examples, parameters, seeds.
LS_N, LS_P, LS_SEEDS = 500, 10, 3


@claim(
    "cg.stochastic.conjugacy",
    statement="consecutive CG directions stay H-conjugate only with exact gradients: with full-batch gradients "
    "|d_k^T H d_k+1| is rounding",
    source="Nocedal & Wright (2006), Thm. 5.3; Bottou, Curtis & Nocedal (2018), Sec. 6",
    control="mini-batch gradients without replacement, B = 50 and 10 of N = 500, over 3 seeds",
    runs_on=NUMPY_ONLY,
)
def _stochastic(ctx: Context, control: bool):
    data = ctx.spawn("least squares").rng
    x = data.standard_normal((LS_N, LS_P)) * np.geomspace(1.0, 10.0, LS_P)
    y = x @ data.standard_normal(LS_P) + 0.5 * data.standard_normal(LS_N)
    kappa = float(np.linalg.cond(x.T @ x))
    for batch in (50, 10) if control else (LS_N,):
        cosines = [minibatch_cg(x, y, np.zeros(LS_P), batch, LS_P - 1, ctx.spawn(f"B={batch} seed={s}").rng).cosines
                   for s in range(LS_SEEDS if batch < LS_N else 1)]  # full batch: deterministic, one run  # fmt: skip
        worst = [max(c) for c in cosines]
        # The local rounding model of the quadratic claims: kappa times the gradients' rounding (~ gamma_{2P}).
        tol = kappa * gamma(2 * LS_P, np.float64)
        detail = f"B={batch}: max H-cosine over seeds {min(worst):.2g}..{max(worst):.2g}"
        if control:  # the noisiest case must fail too: report the least-failing seed
            yield from (Measurement(float(np.mean(c)), tol, None, detail + f", seed {s} mean") for s, c in enumerate(cosines))
        else:
            yield Measurement(max(worst), tol, None, detail)


@claim(
    "cg.wolfe.descent",
    statement="under strong Wolfe steps with c2 < 1/2, FR directions satisfy g^T d/||g||^2 <= (2c2-1)/(1-c2) "
    "and DY directions <= -1/(1+c2): both descend",
    source="Al-Baali (1985); Dai & Yuan (1999), SIAM J. Optim. 10, 177-182",
    control="FR with c2 = 0.9, held to g^T d < 0 (it produces an ascent direction)",
    runs_on=NUMPY_ONLY,
)
def _wolfe_descent(ctx: Context, control: bool):
    cases = [("FR", 0.9)] if control else [(b, c2) for b in ("FR", "DY") for c2 in (0.1, 0.4)]
    for beta, c2 in cases:
        run = nonlinear_cg(rosen, rosen_der, ROSENBROCK_X0, beta=beta, c2=c2, restart=False, tol=GTOL, maxiter=300,
                           return_all=True)  # fmt: skip
        g, d = np.array(run.allgrads), np.array(run.alldirs)
        ratio = np.sum(g * d, axis=1) / np.sum(g * g, axis=1)
        if control:
            bound = 0.0
        else:
            bound = (2.0 * c2 - 1.0) / (1.0 - c2) if beta == "FR" else -1.0 / (1.0 + c2)
        # Rounding of the two 2-term inner products, relative to |g|.|d| / ||g||^2.
        scale = float(np.max(np.sum(np.abs(g) * np.abs(d), axis=1) / np.sum(g * g, axis=1)))
        yield Measurement(max(float(ratio.max()) - bound, 0.0), gamma(8, np.float64) * scale, scale,
                          f"{beta}, c2={c2}: max g^T d/||g||^2 = {ratio.max():.3f}, bound {bound:.3f}")  # fmt: skip
