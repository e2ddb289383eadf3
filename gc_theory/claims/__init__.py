"""The registry of verifiable claims, one module per area.

Each public module in this package (``gc``, and one per later area) registers
its claims with the :func:`claim` decorator when imported; :func:`registry`
imports them all. Use::

    from gc_theory import claims
    result = claims.get_claim("gc.P.idempotent").run(backend="numpy", dtype="float64")
    assert result.ok          # the claim holds and its control fails

    results = claims.run_claims(claims.select("gc.P"))
"""

from __future__ import annotations

from ._core import (
    AREAS,
    CONTROL_MARGIN,
    NUMPY_ONLY,
    SYMBOLIC,
    Claim,
    ClaimResult,
    Context,
    Measurement,
    claim,
    closest_ids,
    get_claim,
    registry,
    run_claims,
    select,
)
from ._report import format_table, write_json

__all__ = [
    "AREAS",
    "CONTROL_MARGIN",
    "NUMPY_ONLY",
    "SYMBOLIC",
    "Claim",
    "ClaimResult",
    "Context",
    "Measurement",
    "claim",
    "closest_ids",
    "get_claim",
    "registry",
    "run_claims",
    "format_table",
    "select",
    "write_json",
]
