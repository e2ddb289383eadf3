r"""Exact, symbolic derivations with SymPy (CPU only, no array backend).

The GC projection is written entrywise, :math:`P_{ij} = \delta_{ij} - 1/M`, with
M a *symbol*, so the identities below are proved for every size at once rather
than checked for a few. SymPy evaluates the index sums into piecewise
expressions whose conditions say whether an index lies in :math:`1..M`;
:func:`assume_in_range` settles those conditions for indices that do.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["M", "assume_in_range", "projection_entry", "projection_identities", "projection_matrix"]

#: The symbolic size of a weight vector.
M = sp.Symbol("M", integer=True, positive=True)
_i, _j, _k = sp.symbols("i j k", integer=True)


def projection_entry(i: sp.Expr, j: sp.Expr, coefficient: sp.Expr = 1) -> sp.Expr:
    r"""The entry :math:`\delta_{ij} - c/M` (c = 1 is GC's P, c = 2 the reflection)."""
    return sp.KroneckerDelta(i, j) - sp.sympify(coefficient) / M


def projection_matrix(size: int, coefficient: int = 1) -> sp.Matrix:
    """The explicit size x size matrix of exact rationals, for concrete sizes."""
    return sp.Matrix(size, size, lambda i, j: projection_entry(i, j, coefficient).subs(M, size))


def assume_in_range(expr: sp.Expr, indices: tuple[sp.Symbol, ...]) -> sp.Expr:
    r"""Simplify `expr` under :math:`1 \le x \le M` for each index x in `indices`.

    Each relational condition that involves M and one index is decided by
    writing :math:`x = 1 + a`, :math:`M = 1 + a + c` with a, c >= 0 integers,
    which is exactly the set of in-range pairs.
    """
    a, c = sp.symbols("a c", integer=True, nonnegative=True)
    decided = {}
    for relation in expr.atoms(sp.core.relational.Relational):
        for x in indices:
            if relation.free_symbols <= {M, x}:
                value = relation.subs({x: 1 + a, M: 1 + a + c})
                if value in (sp.true, sp.false):
                    decided[relation] = value
    return sp.simplify(expr.xreplace(decided))


def projection_identities(coefficient: int = 1, explicit_sizes: range = range(1, 7)) -> list[str]:
    r"""Prove :math:`P^2 = P`, :math:`P^\top = P`, :math:`e^\top P = 0`, :math:`Pe = 0` for symbolic M.

    Returns the list of identities that do *not* reduce to zero (empty when all
    hold). With ``coefficient=2`` the matrix is the reflection
    :math:`I - 2ee^\top`, for which the list is not empty: the control.
    As a check on the method itself, each identity is also verified on
    explicit matrices of the sizes in `explicit_sizes`.
    """
    P = lambda i, j: projection_entry(i, j, coefficient)  # noqa: E731
    identities = {
        "(P^2)_ij - P_ij": (sp.Sum(P(_i, _k) * P(_k, _j), (_k, 1, M)).doit() - P(_i, _j), (_i, _j)),
        "P_ij - P_ji": (P(_i, _j) - P(_j, _i), (_i, _j)),
        "(e^T P)_j": (sp.Sum(P(_k, _j), (_k, 1, M)).doit(), (_j,)),
        "(P e)_i": (sp.Sum(P(_i, _k), (_k, 1, M)).doit(), (_i,)),
    }
    failures = [name for name, (expr, idx) in identities.items() if assume_in_range(expr, idx) != 0]
    for size in explicit_sizes:
        A = projection_matrix(size, coefficient)
        ones = sp.ones(size, 1)
        checks = {"P^2 - P": A * A - A, "P^T - P": A.T - A, "e^T P": ones.T * A, "P e": A * ones}
        failures += [f"{name} at M={size}" for name, value in checks.items() if not value.is_zero_matrix]
    return failures
