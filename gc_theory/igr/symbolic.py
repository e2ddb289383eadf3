r"""Backward error analysis derived exactly with SymPy (CPU only, no array backend).

Every coefficient that :mod:`gc_theory.igr.fields` uses is derived here rather
than copied: the Bernoulli series of :math:`x/(e^x - 1)`, the modified-equation
terms :math:`f_2, f_3, f_4` of explicit Euler by matching Taylor expansions, the
momentum coefficients, Adam's first-order correction, and the curl that shows :math:`f_3` is no gradient.

The exact flow of a field F over time h is the Lie series
:math:`\varphi_h(y) = \sum_k \frac{h^k}{k!} D^k y` with :math:`D = F\cdot\nabla`;
for a modified field :math:`F = f + hf_2 + h^2f_3 + \dots` the series is
truncated at the power of h being matched.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import sympy as sp

__all__ = [
    "adam_correction",
    "bernoulli_series",
    "euler_error_order",
    "euler_modified_terms",
    "euler_modified_terms_2d",
    "f3_curl",
    "momentum_coefficient",
]

h, y, beta, c = sp.symbols("h y beta c")
_f = sp.Function("f")


def bernoulli_series(n: int = 5) -> list[sp.Rational]:
    r"""The first n Taylor coefficients of :math:`x/(e^x - 1) = \sum_k B_k x^k/k!`: 1, -1/2, 1/12, 0, -1/720, ..."""
    x = sp.Symbol("x")
    series = sp.series(x / (sp.exp(x) - 1), x, 0, n).removeO()
    return [sp.nsimplify(series.coeff(x, k)) for k in range(n)]


def _lie_flow(field: Sequence[sp.Expr], coords: Sequence[sp.Symbol], t: sp.Expr, order: int) -> list[sp.Expr]:
    """Components of the flow of `field` over time t, Lie series truncated at h**order.

    The field is a polynomial in h; each iterate :math:`D^k y` is kept as its list of
    h-coefficients, so nothing is expanded until the end (expanding nested
    derivatives of undefined functions is what makes a naive version slow).
    """
    poly = [[sp.expand(fi).coeff(h, k) for k in range(order + 1)] for fi in field]
    result = []
    for coord in coords:
        term = [coord] + [sp.S.Zero] * order
        total = sp.S(coord)
        for k in range(1, order + 1):
            new = [sp.S.Zero] * (order + 1)
            for fi, ci in zip(poly, coords, strict=True):
                dterm = [sp.diff(a, ci) for a in term]
                for i in range(order + 1):
                    for j in range(order + 1 - i):
                        if fi[i] != 0 and dterm[j] != 0:
                            new[i + j] += fi[i] * dterm[j]
            term = new
            total += t**k / sp.factorial(k) * sum(a * h**i for i, a in enumerate(term))
        result.append(_truncate(sp.expand(total), order))
    return result


def _truncate(expr: sp.Expr, order: int) -> sp.Expr:
    return sum(expr.coeff(h, k) * h**k for k in range(order + 1))


@lru_cache(maxsize=4)
def euler_modified_terms(order: int = 4) -> tuple[sp.Expr, ...]:
    r"""The terms :math:`f_2, \dots, f_{order}` of explicit Euler's modified equation for a scalar field f(y).

    Solved power by power from :math:`\varphi_h(y) = y + hf(y) + O(h^{order+1})`:
    :math:`f_2 = -\tfrac12 ff'`, :math:`f_3 = \tfrac1{12}f''f^2 + \tfrac13 f'^2 f`, ...
    """
    f = _f(y)
    terms: list[sp.Expr] = []
    for k in range(2, order + 1):
        # The unknown f_k enters the h**k coefficient of the flow only through h * (h**(k-1) f_k),
        # with coefficient 1: so f_k is minus that coefficient computed without it.
        field = f + sum(h ** (j + 1) * t for j, t in enumerate(terms))
        flow = _lie_flow([field], [y], h, k)[0]
        terms.append(-sp.expand(flow - (y + h * f)).coeff(h, k))
    return tuple(terms)


def euler_modified_terms_2d() -> tuple[list[sp.Expr], list[sp.Expr]]:
    r"""For a general 2-D field :math:`f = (p(u, v), q(u, v))`: the derived :math:`f_3`, and :math:`\tfrac1{12}f''(f,f) + \tfrac13 f'f'f`."""
    u, v = sp.symbols("u v")
    p, q = sp.Function("p")(u, v), sp.Function("q")(u, v)
    f = sp.Matrix([p, q])
    jac = f.jacobian([u, v])
    f2 = -jac * f / 2
    flow = _lie_flow([f[i] + h * f2[i] for i in range(2)], [u, v], h, 3)
    # As in the scalar case, f_3 enters the h**3 coefficient linearly with coefficient 1.
    derived = [-sp.expand(flow[i] - ((u, v)[i] + h * f[i])).coeff(h, 3) for i in range(2)]
    second = [sum(sp.diff(f[i], (u, v)[j], (u, v)[k]) * f[j] * f[k] for j in range(2) for k in range(2))
              for i in range(2)]
    stated = [sp.expand(second[i] / 12 + (jac * jac * f)[i] / 3) for i in range(2)]
    return derived, stated


def euler_error_order(coefficients: Sequence[sp.Expr] | None = None, order: int = 2) -> int:
    r"""The lowest power of h in (exact flow of the order-`order` modified field) - (one Euler step), scalar f.

    ``coefficients`` replaces the derived :math:`f_2, f_3` (a control); 0 means
    the series vanishes through :math:`h^{order+2}`, which is as far as it is expanded.
    """
    f = _f(y)
    terms = list(coefficients) if coefficients is not None else euler_modified_terms(3)
    field = f + sum(h ** (j + 1) * t for j, t in enumerate(terms[:order]))
    top = order + 2
    gap = sp.expand(_lie_flow([field], [y], h, top)[0] - (y + h * f))
    for k in range(top + 1):
        if sp.simplify(gap.coeff(h, k)) != 0:
            return k
    return 0


def momentum_coefficient(nesterov: bool) -> sp.Expr:
    r""":math:`c_\beta` in :math:`\theta' = -\frac1{1-\beta}\nabla[L + hc_\beta\|\nabla L\|^2]` for PyTorch's momentum.

    Matches the two-step form :math:`\theta_{n+1} - (1+\beta)\theta_n + \beta\theta_{n-1}
    = -h[(1 + \nu\beta)g_n - \nu\beta g_{n-1}]` (:math:`\nu = 1` for Nesterov) at
    :math:`h^2`, for a scalar loss with gradient g(y).
    """
    g = sp.Function("g")(y)
    nu = 1 if nesterov else 0
    field = -(g + 2 * h * c * g * sp.diff(g, y)) / (1 - beta)
    forward = _lie_flow([field], [y], h, 2)[0]
    backward = _lie_flow([field], [y], -h, 2)[0]
    g_back = _truncate(sp.expand(sp.series(g.subs(y, backward), h, 0, 3).removeO()), 2)
    lhs = forward - (1 + beta) * y + beta * backward
    rhs = -h * ((1 + nu * beta) * g - nu * beta * g_back)
    gap = sp.expand(lhs - rhs).coeff(h, 2)
    return sp.factor(sp.solve(gap, c)[0])


def f3_curl(loss: sp.Expr, coords: Sequence[sp.Symbol]) -> sp.Expr:
    r"""The curl :math:`\partial_1 F_2 - \partial_2 F_1` of :math:`F = -\tfrac13H^2g - \tfrac1{12}T[g, g]` for a 2-D loss."""
    u, v = coords
    grad = sp.Matrix([sp.diff(loss, u), sp.diff(loss, v)])
    hess = grad.jacobian([u, v])
    third = [sum(sp.diff(loss, (u, v)[i], (u, v)[j], (u, v)[k]) * grad[j] * grad[k]
                 for j in range(2) for k in range(2)) for i in range(2)]
    field = -hess * hess * grad / 3 - sp.Matrix(third) / 12
    # expand, not simplify: for a polynomial loss the curl is a polynomial, and expand decides zero exactly and fast.
    return sp.factor(sp.expand(sp.diff(field[1], u) - sp.diff(field[0], v)))


def adam_correction() -> tuple[sp.Expr, sp.Expr]:
    r"""Adam's first-order field correction :math:`F_1` (epsilon inside the root), derived and as stated.

    For a scalar loss with gradient g(y), the moments are sought on their slow
    manifold, :math:`m_{n+1} = g(\theta_n) + hM_1`, :math:`v_{n+1} = g^2 + hV_1`, and
    the iterates on the flow of :math:`F_0 + hF_1`, :math:`F_0 = -g/\sqrt{g^2 + \epsilon}`.
    The recursions :math:`m_{n+1} = \beta m_n + (1-\beta)g_n` (with
    :math:`\theta_{n-1}` the flow run back by h) fix :math:`M_1, V_1` at order h; the
    update :math:`\theta_{n+1} - \theta_n = -hm_{n+1}/\sqrt{v_{n+1} + \epsilon}` against
    the Lie series of the flow fixes :math:`F_1` at order :math:`h^2`.

    Returns
    -------
    (derived, stated) : tuple of sympy expressions
        ``derived`` from the matching; ``stated`` is
        :math:`\dot g\,((\bar\beta - \bar\rho)g^2 + (\bar\beta + \tfrac12)\epsilon)/s^3` with
        :math:`\dot g = g'F_0` (:mod:`gc_theory.igr.fields`). Their difference simplifies to 0.
    """
    rho, eps = sp.symbols("rho epsilon", positive=True)
    m1, v1, f1 = sp.symbols("M_1 V_1 F_1")
    g = sp.Function("g")(y)
    s = sp.sqrt(g**2 + eps)
    f0 = -g / s

    def back(expr: sp.Expr) -> sp.Expr:
        # expr at the flow run back by h, to first order: only the O(h) terms of the recursions are matched.
        return expr - h * f0 * sp.diff(expr, y)

    slow_m = sp.expand(g + h * m1 - beta * (back(g) + h * m1) - (1 - beta) * g).coeff(h, 1)
    slow_v = sp.expand(g**2 + h * v1 - rho * (back(g**2) + h * v1) - (1 - rho) * g**2).coeff(h, 1)
    moments = {m1: sp.solve(slow_m, m1)[0], v1: sp.solve(slow_v, v1)[0]}
    step = -h * (g + h * m1) / sp.sqrt(g**2 + h * v1 + eps)
    flow = h * (f0 + h * f1) + h**2 / 2 * f0 * sp.diff(f0, y)
    gap = sp.series(step - flow, h, 0, 3).removeO().coeff(h, 2)
    derived = sp.solve(gap.subs(moments), f1)[0]
    b, r = beta / (1 - beta), rho / (1 - rho)
    stated = sp.diff(g, y) * f0 * ((b - r) * g**2 + (b + sp.Rational(1, 2)) * eps) / s**3
    return derived, stated
