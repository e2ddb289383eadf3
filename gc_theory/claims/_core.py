"""The claims registry: one verifiable statement, one check, one control that must fail.

A *claim* is a theorem, identity or prediction of the theory, written once and
used everywhere: by ``gc-theory verify``, by the tests, by the notebooks and
by the figures. Its check is a function ``check(ctx, control)`` that measures a
residual and derives the tolerance it is held to. Called with
``control=True`` it measures the same quantity on a nearby case where the
statement must *not* hold (plain SGD instead of GC-SGD, a gradient with a
planted bug, a reflection instead of a projection). The claim is verified only
when the check passes *and* the control misses its tolerance by at least
:data:`CONTROL_MARGIN`: that shows the check can fail.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


from .._progress import progress
from ..backend import BACKENDS, DTYPES, finfo_eps, get_namespace
from ..context import Context
from ..measurement import Measurement
from ..registry import Registry, closest

__all__ = [
    "CONTROL_MARGIN",
    "Claim",
    "ClaimResult",
    "Context",
    "Measurement",
    "claim",
    "AREAS",
    "claim_measurement",
    "closest_ids",
    "control_measurement",
    "get_claim",
    "registry",
    "run_claims",
    "select",
]

#: A control counts as failed only when its residual exceeds its tolerance by this factor.
CONTROL_MARGIN = 10.0

#: ``Claim.runs_on`` values for claims tied to one engine whatever backend is asked for.
NUMPY_ONLY = "numpy"  # SciPy-based: CPU/NumPy by nature
SYMBOLIC = "sympy"  # exact symbolic algebra: no backend, no dtype


#: What a check returns: the measurement of each of its cases (or a single one).
Measured = Measurement | Iterable[Measurement]
Check = Callable[[Context, bool], Measured]


def claim_measurement(measured: Measured) -> Measurement:
    """The claim's verdict over its cases: the worst case must pass."""
    return Measurement.worst(_cases(measured))


def control_measurement(measured: Measured) -> Measurement:
    """The control's verdict over its cases: even the least-failing one must miss by :data:`CONTROL_MARGIN`."""
    return min(_cases(measured), key=lambda m: (m.ratio, -m.tolerance))


def _cases(measured: Measured) -> list[Measurement]:
    items = [measured] if isinstance(measured, Measurement) else list(measured)
    if not items:
        raise ValueError("a check must return at least one measurement")
    for m in items:
        if not isinstance(m, Measurement):
            raise TypeError(f"a check must return Measurement objects, got {type(m).__name__}")
    return items


@dataclass(frozen=True)
class Claim:
    """A verifiable statement with its check and its control.

    Attributes
    ----------
    id : str
        Dotted, area first: ``gc.P.idempotent``.
    statement : str
        One line, in words and plain math.
    source : str
        Where it comes from: paper, equation or section.
    control : str
        The nearby case where the statement must fail.
    check : callable
        ``check(ctx, control) -> Measurement | Iterable[Measurement]``: the
        measurement of each case. The registry applies the rules: the claim
        holds when its worst case passes, and the control fails when even its
        least-failing case misses by :data:`CONTROL_MARGIN`.
    runs_on : str or None
        None: any array-API backend (the one asked for). ``"numpy"``: SciPy
        code, always on NumPy. ``"sympy"``: exact symbolic, no dtype.
    """

    id: str
    statement: str
    source: str
    control: str
    check: Check = field(repr=False)
    runs_on: str | None = None

    def run(self, backend: str = "numpy", dtype: str = "float64", seed: int = 0) -> ClaimResult:
        """Run the check and its control; exceptions become a failed result, not a crash."""
        where = backend if self.runs_on is None else (NUMPY_ONLY if self.runs_on == SYMBOLIC else self.runs_on)
        shown_dtype = "exact" if self.runs_on == SYMBOLIC else dtype
        start = time.perf_counter()
        try:
            measured = claim_measurement(self.check(Context.create(where, dtype, seed, salt=self.id), False))
            control = control_measurement(self.check(Context.create(where, dtype, seed, salt=self.id), True))
        except Exception as exc:  # a broken check is reported, never hidden
            return ClaimResult.from_error(self, backend_label(where, self.runs_on), shown_dtype, exc, time.perf_counter() - start)
        eps = 0.0 if self.runs_on == SYMBOLIC else finfo_eps(dtype)
        return ClaimResult(
            id=self.id,
            statement=self.statement,
            source=self.source,
            control=self.control,
            backend=backend_label(where, self.runs_on),
            dtype=shown_dtype,
            residual=measured.residual,
            tolerance=measured.tolerance,
            residual_eps=_in_eps(measured, eps),
            passed=measured.passed,
            control_residual=control.residual,
            control_tolerance=control.tolerance,
            control_failed=_control_failed(control),
            detail=measured.detail,
            control_detail=control.detail,
            seconds=time.perf_counter() - start,
        )


def _in_eps(m: Measurement, eps: float) -> float | None:
    """The residual in units of eps (0 for exact symbolic checks; None where it is no rounding error)."""
    if m.scale is None:
        return None
    return m.residual / (eps * m.scale) if eps else 0.0


def backend_label(where: str, runs_on: str | None) -> str:
    return SYMBOLIC if runs_on == SYMBOLIC else where


def _control_failed(m: Measurement) -> bool:
    if not math.isfinite(m.residual):
        return True
    return m.residual > CONTROL_MARGIN * m.tolerance


@dataclass(frozen=True)
class ClaimResult:
    """The outcome of one claim on one backend and dtype (one row of the verify table)."""

    id: str
    statement: str
    source: str
    control: str
    backend: str
    dtype: str
    residual: float
    tolerance: float
    residual_eps: float | None
    passed: bool
    control_residual: float
    control_tolerance: float
    control_failed: bool
    detail: str = ""
    control_detail: str = ""
    seconds: float = 0.0
    error: str | None = None

    def __post_init__(self) -> None:
        # Every field a plain Python type, whatever the check returned (NumPy bools are not JSON).
        for name, kind in (("passed", bool), ("control_failed", bool), ("seconds", float)):
            object.__setattr__(self, name, kind(getattr(self, name)))
        for name in ("residual", "tolerance", "residual_eps", "control_residual", "control_tolerance"):
            value = getattr(self, name)
            object.__setattr__(self, name, None if value is None else float(value))

    @property
    def ok(self) -> bool:
        """Verified: the claim holds and its control fails as it must."""
        return self.passed and self.control_failed and self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_error(cls, c: Claim, backend: str, dtype: str, exc: Exception, seconds: float) -> ClaimResult:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        message = f"{type(exc).__name__}: {exc} ({where.filename.rsplit('/', 1)[-1]}:{where.lineno})"
        return cls(
            id=c.id, statement=c.statement, source=c.source, control=c.control, backend=backend, dtype=dtype,
            residual=math.nan, tolerance=math.nan, residual_eps=math.nan, passed=False,
            control_residual=math.nan, control_tolerance=math.nan, control_failed=False,
            seconds=seconds, error=message,
        )  # fmt: skip


#: The areas, in the order their claims are listed; a claim id's first component is its area,
#: and an area's claims live in the module of that name (claims/gc.py, claims/optim/, ...).
AREAS: tuple[str, ...] = ("gc", "optim", "models", "gradcheck", "wn", "igr", "descent", "vanishing", "minibatch",
                          "saddle", "cg")  # fmt: skip
_CLAIMS: Registry[Claim] = Registry("claim", "gc_theory.claims", order=AREAS)


def claim(id: str, *, statement: str, source: str, control: str, runs_on: str | None = None) -> Callable[[Check], Check]:
    """Decorator that registers ``check(ctx, control)`` as the claim `id`."""

    def register(check: Check) -> Check:
        if runs_on not in (None, NUMPY_ONLY, SYMBOLIC):
            raise ValueError(f"runs_on must be None, {NUMPY_ONLY!r} or {SYMBOLIC!r}, got {runs_on!r}")
        _CLAIMS.register(id, Claim(id, statement, source, control, check, runs_on))
        return check

    return register


def registry() -> dict[str, Claim]:
    """Every registered claim, by id, in the order of :data:`AREAS`, then as each module defines them."""
    return _CLAIMS.items()


def get_claim(id: str) -> Claim:
    """The claim `id`; a KeyError naming the closest ids when there is none."""
    return _CLAIMS.get(id)


def select(pattern: str | None = None) -> list[Claim]:
    """The claims whose ids match `pattern`: a glob (``gc.P.*``), an id, or a dotted prefix of whole
    components (``gc.P``); see :mod:`gc_theory.registry`."""
    return [_CLAIMS.get(i) for i in _CLAIMS.select(pattern)]


def closest_ids(pattern: str) -> list[str]:
    """Claim ids most like `pattern`, for "did you mean" messages."""
    return closest(pattern, _CLAIMS.names())


def run_claims(
    claims: Sequence[Claim],
    backend: str = "numpy",
    dtype: str = "float64",
    seed: int = 0,
    *,
    show_progress: bool | None = None,
) -> list[ClaimResult]:
    """Run `claims` in order on one backend and dtype (progress bar on a terminal)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    get_namespace(backend)  # a clear error now if the backend is unusable here
    return [c.run(backend, dtype, seed) for c in progress(claims, "claims", enabled=show_progress)]
