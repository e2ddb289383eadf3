r"""The checkers against every registered case and planted bug: entrywise verdicts and localisation, measured.

:func:`entrywise_measurement` runs :func:`gc_theory.gradcheck.check_gradient`
on a case (all entries of a small one, a sample of a large one) and returns
the worst ratio of error to tolerance; :func:`localisation_measurement` plants
every bug of :func:`gc_theory.models.cases.planted_bugs` and measures whether
:func:`gc_theory.gradcheck.localize` finds exactly its entries. The claims of
:mod:`gc_theory.claims.gradcheck` and the tests call them.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from gc_theory.core.backend import to_numpy
from gc_theory.gradcheck import check_gradient, directional_check, localize, numerical_gradient
from gc_theory.gradcheck.check import PrecisionWarning
from gc_theory.gradcheck.numerical import DEFAULT_PROBES
from gc_theory.verify.context import Context
from gc_theory.verify.measurement import Measurement

from .cases import Case, PlantedBug, flat_case, planted_bugs

#: The sample of a large case: the entries with the largest analytic gradient, and random others.
SAMPLE_LARGEST, SAMPLE_RANDOM = 4, 6

__all__ = ["FULL_CHECK_MAX", "SAMPLE_LARGEST", "SAMPLE_RANDOM", "PLANTED_SAMPLE", "case_ratio", "planted_sample", "entrywise_measurement", "has_kinks", "localisation_measurement", "sample_entries"]


#: Cases with more entries than this are checked on a sample of entries plus a directional check.
FULL_CHECK_MAX = 64


def _quiet(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)
        return fn(*args, **kwargs)


def sample_entries(case: Case, grad: Any, rng: np.random.Generator, extra: Any = ()) -> np.ndarray | None:
    """None (check all) for small cases; else a sample stratified by parameter tensor, and `extra`.

    The sample: the entries with the largest analytic |g| overall, random
    entries, and in every parameter tensor (weight, bias, input) its largest
    entry and a random one, so that no tensor goes unchecked.
    """
    if case.size <= FULL_CHECK_MAX:
        return None
    g = np.abs(to_numpy(grad(case.x) if callable(grad) else grad).reshape(-1))
    parts = [np.argsort(-g)[:SAMPLE_LARGEST], rng.choice(case.size, size=SAMPLE_RANDOM, replace=False)]
    for offset, shape in (case.blocks or {}).values():
        size = math.prod(shape)
        parts.append(np.array([offset + int(np.argmax(g[offset : offset + size])), offset + int(rng.integers(size))]))
    parts.append(np.asarray(extra, dtype=np.int64))
    return np.unique(np.concatenate(parts))


def case_ratio(case: Case, grad: Any, rng: np.random.Generator, extra: Any = (), *, wrong: bool = False,
               only: Any = None) -> tuple[float, str]:  # fmt: skip
    """Worst error/tolerance of a case: every entry (small cases), or a sample plus a directional check.

    Entries the diagnosis explains count as the report counts them: a kink
    (no derivative exists) not at all, an entry that failed through truncation
    by its error over tolerance at h/10, the step that resolves it. For cases with ReLU kinks the directional check is told the
    activation pattern (``pieces``), so that it shrinks its step rather than
    cross a kink. The directional part is skipped for a gradient known to be
    wrong (`wrong`) once the sample already fails by the control margin, and
    such a gradient is checked with 2 probes instead of 4, to save evaluations.
    `only` checks exactly those entries instead of a sample.
    """
    entries = sample_entries(case, grad, rng, extra) if only is None else np.asarray(only, dtype=np.int64)
    pieces = case.kinks if has_kinks(case) else None
    report = _quiet(check_gradient, case.f, grad, case.x, entries=entries, diagnose=not wrong, probes=2 if wrong else DEFAULT_PROBES,
                    pieces=pieces)  # fmt: skip
    ratios = report.relative_error / report.tolerance
    for p, i in enumerate(report.entries.tolist()):
        d = report.diagnoses.get(i)
        if d is not None and d.kind == "kink":
            ratios[p] = 0.0  # no derivative exists there
        elif d is not None and d.kind == "truncation" and d.passes_at_h10:
            ratios[p] = d.error_h10 / d.tolerance_h10  # judged at the step that resolves it
    ratio = float(np.max(ratios)) if ratios.size else 0.0
    how = f"{report.entries.size} entries"
    if entries is not None:
        if not (wrong and ratio > 10.0):
            d = _quiet(directional_check, case.f, grad, case.x, pieces=pieces)
            counted = ~d.crossed_kink
            if counted.any():
                ratio = max(ratio, float(np.max((d.discrepancy / d.tolerance)[counted])))
            how += f" of {case.size} + {int(counted.sum())} directions"
        else:
            how += f" of {case.size}"
    return ratio, f"{how}, {report.evaluations} evaluations"


def has_kinks(case: Case) -> bool:
    """True for cases with ReLU kinks (non-differentiable points somewhere in the network)."""
    return case.kinks is not None and case.kinks(case.x).shape[0] > 0


def entrywise_measurement(case: Case, grad: Any, rng: np.random.Generator, name: str, extra: Any = (), *, wrong: bool = False) -> Measurement:
    """:func:`case_ratio` as a Measurement: the worst error/tolerance of `grad` over the checked entries, held to 1."""
    ratio, how = case_ratio(case, grad, rng, extra, wrong=wrong)
    return Measurement(ratio, 1.0, None, f"{name}: max error/tolerance {ratio:.3g} ({how})")


#: Entries of a generic planted bug that its control checks: the largest changed ones.
PLANTED_SAMPLE = 4


def planted_sample(bug: PlantedBug, flat: Case) -> np.ndarray | None:
    """The :data:`PLANTED_SAMPLE` entries the bug changed with the largest wrong gradient; None (the usual sample) for a wrong backward pass.

    A full check's worst error/tolerance is at least that over any of its
    entries, so a bug caught on these entries is caught by the full check too.
    """
    if bug.entries is None:
        return None
    g = np.abs(to_numpy(flat.grad(flat.x)).reshape(-1))[bug.entries]
    return bug.entries[np.argsort(-g)[:PLANTED_SAMPLE]]


def localisation_measurement(ctx: Context, guess: bool) -> list[Measurement]:
    r"""Localise each planted bug, repair the entries found, and re-check the gradient.

    Notes
    -----
    The entries :func:`localize` returns are replaced by Richardson differences;
    if they are exactly the wrong ones, the repaired gradient passes the check
    of :func:`case_ratio` (error/tolerance <= 1). A reported entry that the bug
    did not touch counts as a failure (infinite residual). The bugs: the
    generic perturbations of :func:`gc_theory.models.cases.planted_bugs` on every
    registered model (whose layers claim gradcheck.bugs.caught covers one by
    one; a case's own wrong backward pass may change every entry, which is
    check_gradient's job). Small cases get all three bugs; larger ones the
    one-entry sign flip, where localisation's O(log n) cost matters (a factor 2
    makes every entry wrong, and then check_gradient is the tool). In float32
    only the sign flip is localised: a factor 2 on an entry with a small
    gradient is an error below the group tests' float32 tolerance (the entrywise
    check still catches it; claim gradcheck.bugs.caught). Models with
    ReLU kinks pass their activation pattern as ``pieces``; in float32 they
    are left out, since the step a kink allows leaves f's rounding above one
    entry's error at some draws (localize then reports the group unresolved). The control repairs as many randomly
    chosen entries as were planted, instead of the localised ones.
    """
    out = []
    seed = int(ctx.rng.integers(0, 2**31))
    rng = ctx.spawn("repairs").rng
    for bug in planted_bugs(ctx.xp, ctx.dtype, seed, kinds=["model"]):
        if bug.entries is None:
            continue  # a wrong backward pass may change every entry: check_gradient's job, not localisation's
        case = flat_case(bug.case, ctx.xp)  # the value is right, the gradient wrong
        if bug.bug != "sign_flip" and (case.size > FULL_CHECK_MAX or "64" not in str(case.x.dtype)):
            continue  # float32: entries with small gradients sit below the group tests' tolerance
        if "64" not in str(case.x.dtype) and has_kinks(case):
            # float32 with ReLU kinks: the group tests' step must stay inside one activation pattern
            # (about 2e-5 here), where f's float32 rounding over h swamps one flipped entry's error at
            # some draws. localize says so (an unresolved group, "use check_gradient on them") rather
            # than naming a wrong entry, and check_gradient catches the bug (gradcheck.bugs.caught).
            continue
        wrong, planted = case.grad, bug.entries
        if guess:
            others = np.setdiff1d(np.arange(case.size), planted)
            idx = rng.choice(others, size=min(planted.size, others.size), replace=False)
            found = None
        else:
            found = localize(case.f, wrong, case.x, seed=ctx.seed, pieces=case.kinks if has_kinks(case) else None)
            idx = found.indices
        # Richardson (O(h^4)) so that the repaired entries are far more accurate than the check's tolerance.
        numeric = to_numpy(numerical_gradient(case.f, case.x, "richardson", entries=idx)) if idx.size else np.zeros(0)
        repaired_host = to_numpy(wrong(case.x)).reshape(-1).astype(np.float64)
        repaired_host[idx] = numeric
        repaired = ctx.asarray(repaired_host.reshape(tuple(case.x.shape)))
        ratio, how = case_ratio(case, repaired, rng, extra=np.union1d(idx, planted))
        extra = np.setdiff1d(idx, planted)
        residual = math.inf if (extra.size and not guess) else ratio
        what = f"{idx.size} random entries repaired" if found is None else f"{idx.size} found in {found.evaluations} evaluations"
        out.append(Measurement(residual, 1.0, None, f"{bug.name}: {planted.size} planted, {what}; repaired error/tolerance {ratio:.3g} ({how})"))
    return out
