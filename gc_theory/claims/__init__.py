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

import importlib
import pkgutil

from ._core import (
    CONTROL_MARGIN,
    NUMPY_ONLY,
    SYMBOLIC,
    Claim,
    ClaimResult,
    Context,
    Measurement,
    claim,
    get_claim,
    registry,
    run_claims,
    select,
)
from ._report import format_table, write_json

__all__ = [
    "CONTROL_MARGIN",
    "NUMPY_ONLY",
    "SYMBOLIC",
    "Claim",
    "ClaimResult",
    "Context",
    "Measurement",
    "claim",
    "get_claim",
    "registry",
    "run_claims",
    "format_table",
    "select",
    "write_json",
]

#: Area modules registered first, in this order; any other public module follows alphabetically.
_AREA_ORDER = ("gc", "optim", "models", "gradcheck", "wn", "igr")
_loaded = False


def _load_areas() -> None:
    """Import every area module once, so that its claims register."""
    global _loaded
    if _loaded:
        return
    names = [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
    names.sort(key=lambda n: (_AREA_ORDER.index(n) if n in _AREA_ORDER else len(_AREA_ORDER), n))
    for name in names:
        importlib.import_module(f"{__name__}.{name}")
    _loaded = True
