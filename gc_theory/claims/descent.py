r"""Claims about Taylor's remainder and the descent lemma (:mod:`gc_theory.landscape.descent`).

``descent.taylor.first_order``: the first-order Taylor remainder of the
logistic loss at w = 0 shrinks with order 2 in the step (order fitted on a geometric
ladder, tolerance from the ladder's drift, :mod:`gc_theory.verify.order_fit`).
Control: the same remainder with the sign of the gradient flipped, order 1.

``descent.lemma``: on a quadratic whose smoothness constant :math:`L_s` is
computed by power iteration, :math:`L(x - \eta g)` never exceeds the bound
:math:`L(x) - \eta(1 - L_s\eta/2)\lVert g\rVert^2` for :math:`\eta \in (0, 2/L_s]`.
The gradient is put along the top eigenvector, where the bound is an equality,
so only rounding and the power-iteration error separate the two sides; the
tolerance is :math:`\gamma_{4n}` times the sizes involved plus
:math:`\tfrac12\eta^2\lVert g\rVert^2` times the eigenvalue's error bound.
Control: the same bound with :math:`L_s` underestimated by half.

``descent.gd.monotone``: gradient descent with :math:`\eta = 1.9/L_s` never
increases the loss (beyond rounding) over 100 steps; control
:math:`\eta = 2.1/L_s`, where the top component grows by 1.1 per step.

References
----------
.. [1] Y. Nesterov, *Lectures on Convex Optimization*, 2nd ed., Springer, 2018, Lemma 1.2.3.
"""

from __future__ import annotations

import numpy as np

from gc_theory.problems import SPDQuadratic, gaussian_classes, logistic_loss, spd_quadratic
from gc_theory.verify.order_fit import geometric_ladder, order_measurement
from gc_theory.landscape.descent import descent_bound, gradient_descent_losses, smoothness, taylor_remainders
from gc_theory.verify.tolerances import gamma
from . import Context, Measurement, claim

N = 20
#: A spectral gap of 2 at the top keeps power iteration short (its rate is lambda_2/lambda_1).
SPECTRUM = np.append(np.linspace(0.1, 5.0, N - 1), 10.0)


def _quadratic(ctx: Context) -> SPDQuadratic:
    return spd_quadratic(SPECTRUM, ctx.spawn("quadratic").rng, xp=ctx.xp, dtype=ctx.dtype)


def _power_tol(ctx: Context) -> float:
    """A stopping tolerance power iteration can reach: the residual cannot fall below ~ eps sqrt(n) |lambda|."""
    return 100.0 * ctx.eps * float(np.sqrt(N))


@claim(
    "descent.taylor.first_order",
    statement="L(x + h d) - L(x) - h g^T d = O(h^2): the remainder has order 2 (logistic loss)",
    source="Nocedal & Wright (2006), Thm. 2.1 (Taylor's theorem)",
    control="the remainder with the gradient's sign flipped (order 1)",
)
def _taylor(ctx: Context, control: bool):
    x_host, y_host = gaussian_classes(200, 5, ctx.spawn("data").rng)
    problem = logistic_loss(ctx.asarray(x_host), ctx.asarray(y_host))
    # At w = 0 every z_i = 0, where sigma'' vanishes: the cubic Taylor term is zero and the remainder is
    # (1/2) h^2 d^T H d (1 + O(h^2)), a correction of order q = 2 that the ladder fit is told about.
    w = ctx.xp.zeros(5, dtype=ctx.dtype)
    f = problem.value
    true_grad = problem.grad(w)
    g = true_grad * (-1.0 if control else 1.0)
    unit = true_grad / ctx.xp.linalg.vector_norm(true_grad)
    for k in range(3):
        # Directions with a fixed share of the gradient, so that g^T d is not accidentally ~0 and a wrong
        # gradient's first-order term shows on the ladder instead of hiding under the curvature term.
        d = ctx.spawn(f"direction {k}").normal(5)
        d = unit + 0.5 * d / ctx.xp.linalg.vector_norm(d)
        d = d / ctx.xp.linalg.vector_norm(d)
        steps = geometric_ladder(1.0, 5)
        floor = 8.0 * ctx.eps * abs(float(f(w)))  # the rounding of L(x + hd) - L(x)
        yield order_measurement(steps, taylor_remainders(f, g, w, d, steps), 2.0, correction_order=2.0,
                                rounding_floor=floor, detail=f"direction {k}")  # fmt: skip


@claim(
    "descent.lemma",
    statement="L(x - eta g) <= L(x) - eta (1 - L_s eta/2) ||g||^2 for eta in (0, 2/L_s], L_s by power iteration",
    source="Nesterov (2018), Lemma 1.2.3",
    control="the same bound with L_s underestimated by half",
)
def _lemma(ctx: Context, control: bool):
    xp = ctx.xp
    q = _quadratic(ctx)
    top = smoothness(lambda v: q.hvp(None, v), ctx.spawn("power").normal(N), tol=_power_tol(ctx))
    # x = x* + v_top puts g = A(x - x*) along the top eigenvector, where the lemma is an equality.
    x = q.minimiser + top.vector
    g = q.grad(x)
    f0, g2 = q.value(x), float(xp.vecdot(g, g))
    l_s = top.eigenvalue / (2.0 if control else 1.0)
    for eta in np.linspace(0.1, 2.0, 8) / top.eigenvalue:
        eta = float(eta)
        f_new = q.value(x - eta * g)
        bound = descent_bound(f0, g2, eta, l_s)
        sizes = abs(f0) + abs(f_new) + eta * g2 + eta**2 * top.eigenvalue * g2
        tol = gamma(4 * N, ctx.dtype) * sizes + 0.5 * eta**2 * g2 * top.error_bound
        yield Measurement(max(f_new - bound, 0.0), tol, sizes, f"eta L_s = {eta * top.eigenvalue:.2f}")


@claim(
    "descent.gd.monotone",
    statement="gradient descent with eta = 1.9/L_s never increases the loss of an L_s-smooth quadratic",
    source="Nesterov (2018), Lemma 1.2.3 and Thm. 2.1.14",
    control="eta = 2.1/L_s, beyond the stability limit 2/L_s",
)
def _monotone(ctx: Context, control: bool):
    q = _quadratic(ctx)
    l_s = smoothness(lambda v: q.hvp(None, v), ctx.spawn("power").normal(N), tol=_power_tol(ctx)).eigenvalue
    losses = np.array(gradient_descent_losses(q.value, lambda v: q.grad(v), ctx.spawn("start").normal(N),
                                              (2.1 if control else 1.9) / l_s, 100))  # fmt: skip
    # Each loss is an n-term quadratic form: rounding of gamma_{2n} times its size, twice per difference.
    tol = 2.0 * gamma(2 * N, ctx.dtype) * float(np.max(np.abs(losses)) + abs(losses[0]))
    yield Measurement(float(np.max(np.maximum(np.diff(losses), 0.0))), tol, float(np.max(np.abs(losses))),
                      f"100 steps, loss {losses[0]:.3g} -> {losses[-1]:.3g}")  # fmt: skip
