"""The claims registry: one verifiable statement, one check, one control that must fail.

A *claim* is a theorem, identity or prediction of the theory, written once and
used everywhere: by ``gc-theory verify``, by the tests, by the notebooks and
by the figures. Its check is a function ``check(ctx, control)`` that returns
the :class:`Measurement` of each of its cases (a residual and the tolerance
derived for it). Called with ``control=True`` it measures the same quantity on
nearby cases where the statement must *not* hold (plain SGD instead of GC-SGD,
a gradient with a planted bug, a reflection instead of a projection).

The rules live here and only here: the claim holds when its worst case passes
(:func:`claim_verdict`), and its control fails when even the least-failing
control case misses its tolerance by at least :data:`CONTROL_MARGIN`
(:func:`control_verdict`), which shows that the check can fail. A claim is
verified when both hold. Claims register in :data:`CLAIMS`, a
:class:`gc_theory.core.registry.Registry`, whose ``select`` rule is the one every
registry of the package shares.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from gc_theory.core.progress import progress
from gc_theory.core.areas import area_names
from gc_theory.core.backend import BACKENDS, DTYPES, finfo_eps, get_namespace
from gc_theory.verify.context import Context
from gc_theory.verify.measurement import Measurement
from gc_theory.core.registry import Registry
from gc_theory.core.validation import check_int

__all__ = [
    "AREAS",
    "CLAIMS",
    "CONTROL_MARGIN",
    "Claim",
    "ClaimResult",
    "Context",
    "Measurement",
    "Verdict",
    "claim",
    "claim_measurement",
    "claim_verdict",
    "control_measurement",
    "control_verdict",
    "get_claim",
    "module_area",
    "registry",
    "run_claims",
    "select",
]

#: The names of the areas, in the order ``verify`` runs them (:data:`gc_theory.core.areas.AREAS`).
#: A claim id's first component is its area, and the area's claims live in
#: ``claims/<area>.py`` or the package ``claims/<area>/``.
AREAS = area_names()

#: A control counts as failed only when its residual exceeds its tolerance by this factor.
CONTROL_MARGIN = 10.0

#: ``Claim.runs_on`` values for claims tied to one engine whatever backend is asked for.
NUMPY_ONLY = "numpy"  # SciPy-based: CPU/NumPy by nature
SYMBOLIC = "sympy"  # exact symbolic algebra: no backend, no dtype


#: What a check returns: the measurement of each of its cases (or a single one).
Measured = Measurement | Iterable[Measurement]
Check = Callable[[Context, bool], Measured]


@dataclass(frozen=True)
class Verdict:
    """The case a rule picked out of a check's cases, and how many cases there were."""

    case: Measurement
    index: int
    cases: int

    @property
    def detail(self) -> str:
        """The case's own detail, or its position when it gave none."""
        return self.case.detail or f"case {self.index + 1} of {self.cases}"


def claim_measurement(measured: Measured) -> Measurement:
    """The claim's verdict over its cases: the worst case must pass."""
    return claim_verdict(measured).case


def control_measurement(measured: Measured) -> Measurement:
    """The control's verdict over its cases: even the least-failing one must miss by :data:`CONTROL_MARGIN`."""
    return control_verdict(measured).case


def claim_verdict(measured: Measured) -> Verdict:
    """The worst case (largest residual/tolerance; ties to the largest tolerance, the most informative)."""
    items = _cases(measured)
    i = max(range(len(items)), key=lambda k: (items[k].ratio, items[k].tolerance))
    return Verdict(items[i], i, len(items))


def control_verdict(measured: Measured) -> Verdict:
    """The least-failing control case (smallest residual/tolerance; ties to the largest tolerance)."""
    items = _cases(measured)
    i = min(range(len(items)), key=lambda k: (items[k].ratio, -items[k].tolerance))
    return Verdict(items[i], i, len(items))


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
        code, always on NumPy in float64 (and reported so). ``"sympy"``: exact symbolic, no dtype.
    """

    id: str
    statement: str
    source: str
    control: str
    check: Check = field(repr=False)
    runs_on: str | None = None

    @property
    def area(self) -> str:
        """The id's first component: the area the claim belongs to."""
        return self.id.split(".", 1)[0]

    def run(self, backend: str = "numpy", dtype: str = "float64", seed: int = 0) -> ClaimResult:
        """Run the check and its control; exceptions become a failed result, not a crash."""
        # A wrong argument is the caller's error, not a failed claim: refuse it before anything runs.
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        where = backend if self.runs_on is None else (NUMPY_ONLY if self.runs_on == SYMBOLIC else self.runs_on)
        if self.runs_on == NUMPY_ONLY:
            dtype = "float64"  # SciPy code computes in float64 whatever was asked for: say so, and count eps in it
        shown_dtype = "exact" if self.runs_on == SYMBOLIC else dtype
        start = time.perf_counter()
        try:
            verdict = claim_verdict(self.check(Context.create(where, dtype, seed, salt=self.id), False))
            against = control_verdict(self.check(Context.create(where, dtype, seed, salt=self.id), True))
        except Exception as exc:  # a broken check is reported, never hidden
            return ClaimResult.from_error(self, backend_label(where, self.runs_on), shown_dtype, exc, time.perf_counter() - start)
        eps = 0.0 if self.runs_on == SYMBOLIC else finfo_eps(dtype)
        measured, control = verdict.case, against.case
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
            detail=verdict.detail,
            control_detail=against.detail,
            cases=verdict.cases,
            control_cases=against.cases,
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
    """The outcome of one claim on one backend and dtype (one row of the verify table).

    Every field is a plain Python value (str, float, int, bool or None),
    coerced here at the source, so that the result writes to JSON as it is.
    `detail` and `control_detail` name the case the verdict came from (the
    worst case; the least-failing control case); `cases` and `control_cases`
    count the cases measured.
    """

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
    cases: int = 0
    control_cases: int = 0
    seconds: float = 0.0
    error: str | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name in _OPTIONAL:
                continue
            kind = _PLAIN[f.name]
            if kind is bool:
                plain: object = bool(value)
            elif kind is int:
                plain = int(value)
            elif kind is float:
                plain = float(value)
            else:
                plain = str(value)
            object.__setattr__(self, f.name, plain)

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


_PLAIN: dict[str, type] = {
    "residual": float, "tolerance": float, "residual_eps": float, "passed": bool,
    "control_residual": float, "control_tolerance": float, "control_failed": bool,
    "cases": int, "control_cases": int, "seconds": float,
}  # fmt: skip
for _name in ("id", "statement", "source", "control", "backend", "dtype", "detail", "control_detail", "error"):
    _PLAIN[_name] = str
_OPTIONAL = frozenset({"residual_eps", "error"})

#: Every claim, registered by the area modules of this package when imported.
CLAIMS: Registry[Claim] = Registry("claim", __package__, order=AREAS)


def claim(id: str, *, statement: str, source: str, control: str, runs_on: str | None = None) -> Callable[[Check], Check]:
    """Decorator that registers ``check(ctx, control)`` as the claim `id`.

    The id's first component must be one of :data:`AREAS`.
    """

    def register(check: Check) -> Check:
        if id.split(".", 1)[0] not in AREAS:
            raise ValueError(f"claim id must start with an area ({', '.join(AREAS)}), got {id!r}")
        if runs_on not in (None, NUMPY_ONLY, SYMBOLIC):
            raise ValueError(f"runs_on must be None, {NUMPY_ONLY!r} or {SYMBOLIC!r}, got {runs_on!r}")
        CLAIMS.register(id, Claim(id, statement, source, control, check, runs_on))
        return check

    return register


def module_area(module: str) -> str:
    """The area of the claim module `module` (a dotted module name): its first component below this package.

    ``gc_theory.claims.wn`` and ``gc_theory.claims.gc.confinement`` are the areas ``wn`` and ``gc``.
    """
    prefix = __package__ + "."
    if not module.startswith(prefix):
        raise ValueError(f"module must be inside {__package__}, got {module!r}")
    return module[len(prefix) :].split(".", 1)[0]


def registry() -> dict[str, Claim]:
    """Every registered claim, by id, in area order (:data:`AREAS`), then as each module defines them."""
    return CLAIMS.entries()


def get_claim(id: str) -> Claim:
    """The claim `id`; a KeyError naming the closest ids otherwise."""
    return CLAIMS.get(id)


def select(pattern: str | None = None) -> list[Claim]:
    """Claims whose id matches `pattern`: a glob, an exact id or a dotted prefix (:mod:`gc_theory.core.registry`)."""
    entries = CLAIMS.entries()
    return [entries[name] for name in CLAIMS.select(pattern)]


def run_claims(
    claims: Sequence[Claim],
    backend: str = "numpy",
    dtype: str = "float64",
    seed: int = 0,
    *,
    show_progress: bool | None = None,
    jobs: int = 1,
) -> list[ClaimResult]:
    """Run `claims` on one backend and dtype (progress bar on a terminal); results in the order given.

    Parameters
    ----------
    claims : sequence of Claim
    backend, dtype : str
        One of :data:`~gc_theory.core.backend.BACKENDS` and :data:`~gc_theory.core.backend.DTYPES`.
    seed : int
        The seed of every claim's random streams.
    show_progress : bool, optional
        Force the progress bar on or off (default: on when stderr is a terminal).
    jobs : int
        Worker processes (default 1: run here, one after another). Each claim
        draws from its own stream, seeded by `seed` and its id alone, so the
        results do not depend on `jobs` or on which process ran which claim;
        only ``seconds`` (wall time) differs.

    Notes
    -----
    Workers receive claim ids and look the claims up in :data:`CLAIMS`: a
    claim object that is not the registered one of its id (built by hand) is
    run in this process.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    check_int(jobs, "jobs", minimum=1)
    get_namespace(backend)  # a clear error now if the backend is unusable here
    claims = list(claims)
    entries = CLAIMS.entries()
    jobs = min(jobs, len(claims))
    if jobs <= 1 or any(entries.get(c.id) is not c for c in claims):
        return [c.run(backend, dtype, seed) for c in progress(claims, "claims", enabled=show_progress)]
    from concurrent.futures import ProcessPoolExecutor

    tasks = [(c.id, backend, dtype, seed) for c in claims]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        # chunksize 1: claim times differ by 1000x, so workers take one claim at a time
        done = pool.map(_run_registered, tasks, chunksize=1)
        return list(progress(done, "claims", total=len(tasks), enabled=show_progress))


def _run_registered(task: tuple[str, str, str, int]) -> ClaimResult:
    """Run one registered claim in a worker process (a module-level function, so that it pickles)."""
    cid, backend, dtype, seed = task
    return get_claim(cid).run(backend, dtype, seed)
