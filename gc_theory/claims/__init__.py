"""The registry of verifiable claims, one module per area.

Each public module in this package (one per area, listed once in
:data:`AREAS`) registers its claims with the :func:`claim` decorator when
imported; :func:`registry` imports them all. ``select`` follows the one rule of
:mod:`gc_theory.core.registry` (a glob, an exact id, or a dotted prefix of whole
components). Use::

    from gc_theory import claims
    result = claims.get_claim("gc.P.idempotent").run(backend="numpy", dtype="float64")
    assert result.ok          # the claim holds and its control fails

    results = claims.run_claims(claims.select("gc.P"))
"""

from __future__ import annotations

from ._core import (
    AREAS,
    CLAIMS,
    CONTROL_MARGIN,
    NUMPY_ONLY,
    SYMBOLIC,
    Claim,
    ClaimResult,
    Context,
    Measurement,
    claim,
    get_claim,
    module_area,
    registry,
    run_claims,
    select,
)
from ._report import format_markdown, format_table, write_json

__all__ = [
    "AREAS",
    "CLAIMS",
    "CONTROL_MARGIN",
    "NUMPY_ONLY",
    "SYMBOLIC",
    "Claim",
    "ClaimResult",
    "Context",
    "Measurement",
    "claim",
    "format_markdown",
    "format_table",
    "get_claim",
    "module_area",
    "registry",
    "run_claims",
    "select",
    "write_json",
]
