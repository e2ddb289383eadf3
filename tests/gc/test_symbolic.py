"""The symbolic proof for general M, and that it can fail."""

import sympy as sp

from gc_theory.gc import symbolic


def test_projection_identities_hold_for_symbolic_M() -> None:
    assert symbolic.projection_identities() == []


def test_reflection_fails_the_identities() -> None:
    failures = symbolic.projection_identities(coefficient=2)
    assert "(P^2)_ij - P_ij" in failures and "(e^T P)_j" in failures
    assert "P_ij - P_ji" not in failures  # the reflection is symmetric too


def test_assume_in_range_decides_index_conditions() -> None:
    i = sp.Symbol("i", integer=True)
    expr = sp.Piecewise((1, sp.Le(i, symbolic.M) & sp.Ge(i, 1)), (2, True))
    assert symbolic.assume_in_range(expr, (i,)) == 1


def test_explicit_matrix_matches_definition() -> None:
    P = symbolic.projection_matrix(3)
    assert P == sp.eye(3) - sp.ones(3, 3) / 3
