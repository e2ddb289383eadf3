"""The symbolic derivations behind every coefficient of gc_theory.igr (SymPy)."""

from __future__ import annotations

import pytest

sp = pytest.importorskip("sympy")

from gc_theory.igr import momentum_coefficient as numeric_momentum_coefficient  # noqa: E402
from gc_theory.igr import symbolic as s  # noqa: E402

F = sp.Function("f")(s.y)
FP, FPP = F.diff(s.y), F.diff(s.y, 2)


def test_bernoulli_series():
    assert s.bernoulli_series(7) == [1, sp.Rational(-1, 2), sp.Rational(1, 12), 0, sp.Rational(-1, 720), 0,
                                     sp.Rational(1, 30240)]
    assert s.bernoulli_series(5) == [sp.bernoulli(k, 0) / sp.factorial(k) for k in range(5)]


def test_euler_terms_through_f4():
    f2, f3, f4 = s.euler_modified_terms(4)
    assert sp.expand(f2 + F * FP / 2) == 0
    assert sp.expand(f3 - (FPP * F**2 / 12 + FP**2 * F / 3)) == 0
    assert sp.expand(f4 + FP * FPP * F**2 / 6 + FP**3 * F / 4) == 0


def test_euler_terms_on_a_linear_field_are_the_log_series():
    # f = lambda y: the modified field is log(1 + h lambda)/h * y, whose series is lambda - h lambda^2/2 + ...
    lam = sp.Symbol("lambda")
    terms = [t.subs(F.diff(s.y, 2), 0).subs(FP, lam).subs(F, lam * s.y).doit() for t in s.euler_modified_terms(4)]
    logseries = sp.series(sp.log(1 + s.h * lam) / s.h, s.h, 0, 4).removeO()
    assert all(sp.expand(terms[k] - logseries.coeff(s.h, k + 1) * s.y) == 0 for k in range(3))


def test_general_2d_f3():
    derived, stated = s.euler_modified_terms_2d()
    assert all(sp.expand(a - b) == 0 for a, b in zip(derived, stated, strict=True))


@pytest.mark.parametrize("order", [0, 1, 2])
def test_gd_minus_the_order_k_flow_is_order_k_plus_2(order):
    assert s.euler_error_order(order=order) in (order + 2, 0)


def test_a_wrong_coefficient_leaves_a_lower_order():
    assert s.euler_error_order([-F * FP / 4], order=1) == 2
    assert s.euler_error_order([-F * FP / 2, FPP * F**2 / 3 + FP**2 * F / 12], order=2) == 3


@pytest.mark.parametrize(("nesterov", "method"), [(False, "heavy_ball"), (True, "nesterov")])
def test_momentum_coefficients_match_the_fields(nesterov, method):
    c = s.momentum_coefficient(nesterov)
    for beta in (0.0, 0.3, 0.9):
        assert float(c.subs(s.beta, beta)) == pytest.approx(numeric_momentum_coefficient(method, beta), rel=1e-14)


def test_f3_curl():
    a, b, x, y = sp.symbols("a b x y")
    assert s.f3_curl((y - a * b * x) ** 2 / 2, (a, b)) != 0
    assert s.f3_curl(3 * a**2 + a * b + b**2 / 2, (a, b)) == 0


def test_adam_correction_is_derived():
    derived, stated = s.adam_correction()
    assert sp.simplify(derived - stated) == 0
    # A wrong coefficient, rho/(1-rho) for beta/(1-beta) in the eps part, is caught.
    rho, eps = sp.symbols("rho epsilon", positive=True)
    wrong = stated + sp.diff(sp.Function("g")(s.y), s.y) * eps * (rho / (1 - rho) - s.beta / (1 - s.beta)) \
        * (-sp.Function("g")(s.y)) / (sp.Function("g")(s.y) ** 2 + eps) ** 2
    assert sp.simplify(derived - wrong) != 0
