r"""check_gradient: compare an analytic gradient with a numerical one, and explain the verdict.

Every entry is compared against a tolerance from the error model at the step
used (not a hand-picked ``rtol``). Entries that fail are *diagnosed*:

1. **Kink.** The one-sided differences :math:`D^+ = (f(x+he_i) - f(x))/h` and
   :math:`D^- = (f(x) - f(x-he_i))/h` differ by :math:`|f''|h` for smooth f,
   which shrinks with h, and by the jump of the derivative at a kink, which
   does not. If the gap at h/10 is still above the rounding level and has not
   shrunk (at least 0.3 of the gap at h) the entry is a *non-differentiable
   point*, not a bug.
2. **Shrink h by 10.** Re-check the entry at h/10. Truncation error
   (:math:`\propto h^2`) falls by 100; a wrong gradient's error does not move;
   rounding error (:math:`\propto 1/h`) grows by 10. The ratio
   :math:`r = e(h)/e(h/10)` classifies: :math:`\log_{10} r \ge 1` truncation
   (the step was too large; the entry passes if it passes at h/10),
   :math:`\log_{10} r \le -1/2` rounding (f is noisier than assumed), in
   between: a **bug**. The thresholds sit halfway (in log) between the model
   ratios 100, 1 and 0.1. An error that shrank (r > 1) *and* passes at h/10
   is truncation too: near h* rounding takes over at h/10 and r falls short of 100.

float32: the error model follows the dtype, so a correct float32 gradient
passes (at a looser tolerance, :math:`\sim\epsilon^{2/3}` relative for the
central difference) instead of failing as with fixed float64 tolerances; a
:class:`PrecisionWarning` says that float64 is the place to check.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from gc_theory.core.validation import check_bool, check_callable, check_int, check_positive, check_seed
from gc_theory.core.backend import array_namespace, finfo_eps, is_array, to_numpy
from ._evaluate import CountedFunction, describe_entry, validate_point
from ._report import CheckReport
from ._sweep import Sweep
from .error_model import StepModel, checked_probes, flat_indices, model_error, probe_model
from .numerical import DEFAULT_PROBES, numerical_gradient

__all__ = ["Diagnosis", "GradientReport", "PrecisionWarning", "check_gradient", "diagnose", "evaluate_gradient"]

#: Failing entries that get the shrink-h / kink diagnosis (2 evaluations of f each).
DEFAULT_MAX_DIAGNOSE = 32
#: A gradient that passes is held to `safety` times the model's error bound.
DEFAULT_SAFETY = 10.0


class PrecisionWarning(UserWarning):
    """A check in float32 (or lower): it works, but float64 is the place to check gradients."""


@dataclass(frozen=True)
class Diagnosis:
    """Why one entry failed: 'bug', 'truncation', 'rounding', 'kink' or 'unresolved', with the numbers behind it."""

    kind: str
    error_h: float
    error_h10: float
    ratio: float
    jump_h: float
    jump_h10: float
    passes_at_h10: bool
    tolerance_h10: float = math.inf

    def explain(self) -> str:
        if self.kind == "unresolved":
            return ("cannot be checked here: one spacing of x moves f by more than its size, so no finite "
                    "difference resolves f at this entry")  # fmt: skip
        if self.kind == "kink":
            return (f"non-differentiable point: one-sided differences disagree by {self.jump_h10:.3g} at h/10 "
                    f"(and {self.jump_h:.3g} at h); the gap does not shrink with h")  # fmt: skip
        if self.kind == "truncation":
            tail = "passes at h/10" if self.passes_at_h10 else "still above tolerance at h/10"
            return f"step too large: error fell {self.ratio:.3g}x when h shrank 10x (truncation ~ h^2); {tail}"
        if self.kind == "rounding":
            return f"rounding: error grew {1 / self.ratio:.3g}x when h shrank 10x; f is noisier than eps*|f| (pass noise=)"
        return f"bug: error unchanged ({self.ratio:.3g}x) when h shrank 10x; the analytic gradient is wrong here"


@dataclass
class GradientReport(CheckReport):
    """What check_gradient found.

    Per-entry arrays are host NumPy copies (a report is for reading), flat in
    x's C order, one value per checked entry: ``entries`` (all of x's by
    default) gives their flat indices. ``worst`` holds flat indices, worst
    first (by error over tolerance). ``inconclusive`` is True when nothing
    failed but the check could not have seen an error of the size that
    matters (a step far above :math:`h^*`, or f unresolved at the spacing of
    x); ``passed`` is then False.
    """

    worst: np.ndarray
    failed: np.ndarray
    diagnoses: dict[int, Diagnosis]
    bugs: np.ndarray
    kinks: np.ndarray
    evaluations: int
    model: StepModel
    shape: tuple[int, ...]
    dtype: str
    method: str
    entries: np.ndarray
    notes: list[str] = field(default_factory=list)
    inconclusive: bool = False

    title: ClassVar[str] = "gradient check"

    @property
    def max_ratio(self) -> float:
        """max over entries of relative error / tolerance (<= 1 everywhere when all pass at h)."""
        return float(np.max(self.relative_error / self.tolerance))

    def __str__(self) -> str:
        n = self.analytic.size
        lines = [self.headline(), f"  {n} entries, dtype {self.dtype}, {self.evaluations} evaluations of f; {self.model}"]
        lines.append(f"  {'entry':<28}{'analytic':>12}{'numerical':>12}{'rel. error':>12}{'tolerance':>11}  diagnosis")
        position = {int(e): p for p, e in enumerate(self.entries.tolist())}
        for i in self.worst[:8].tolist():
            p = position[i]
            d = self.diagnoses.get(i)
            note = d.explain() if d else ("ok" if not self.failed[p] else "fails (not diagnosed)")
            # Both values exactly zero leave nothing to compare: no tolerance applies.
            tol = f"{self.tolerance[p]:>11.3g}" if math.isfinite(self.tolerance[p]) else f"{'-':>11}"
            lines.append(
                f"  {describe_entry(self.shape, i):<28}{self.analytic[p]:>12.4g}{self.numerical[p]:>12.4g}"
                f"{self.relative_error[p]:>12.3g}{tol}  {note}"
            )
        lines += [f"  note: {t}" for t in self.notes]
        return "\n".join(lines)

    __repr__ = __str__


def evaluate_gradient(grad_f: Any, x: Any, name: str = "grad_f") -> Any:
    """grad_f(x) (or a given array), checked: floating, finite, x's shape and namespace."""
    g = grad_f(x) if callable(grad_f) else grad_f
    if not is_array(g):
        raise TypeError(f"{name} must return an array shaped like x, got {type(g).__name__}")
    if tuple(g.shape) != tuple(x.shape):
        raise ValueError(f"{name}(x) has shape {tuple(g.shape)} but x has shape {tuple(x.shape)}; they must match")
    validate_point(g, f"{name}(x)")
    return g


def _tolerance(pred: np.ndarray, a: np.ndarray, n: np.ndarray, eps: float, safety: float) -> tuple[np.ndarray, np.ndarray]:
    """Relative error and its tolerance per entry.

    The tolerance is ``safety * (E_i + eps*max(|a_i|, |n_i|)) / max(|a_i|, |n_i|, tiny)``: the
    numerical derivative's error bound plus one rounding of the analytic value, in the units
    of the relative error. Near-zero entries are thus judged by the absolute bound E_i.
    """
    tiny = np.finfo(np.float64).tiny
    denom = np.maximum(np.maximum(np.abs(a), np.abs(n)), tiny)
    rel = np.abs(a - n) / denom
    with np.errstate(over="ignore"):
        tol = safety * (pred + eps * denom) / denom
    # Both values exactly zero: nothing to compare, any tolerance passes.
    return rel, np.where(denom == tiny, np.inf, tol)


def check_gradient(f: Callable[[Any], Any], grad_f: Any, x: Any, *, method: str = "central", h: Any = None,
                   safety: float = DEFAULT_SAFETY, diagnose: bool = True, max_diagnose: int = DEFAULT_MAX_DIAGNOSE,
                   vectorized: bool = False, batch_size: int | None = None, noise: float | None = None,
                   probes: int = DEFAULT_PROBES, seed: int = 0, warn_float32: bool = True,
                   entries: Any = None, pieces: Callable[[Any], Any] | None = None) -> GradientReport:  # fmt: skip
    r"""Check an analytic gradient entry by entry against finite differences, with a diagnosis.

    Parameters
    ----------
    f : callable
        The scalar function (see :func:`numerical_gradient`).
    grad_f : callable or array
        ``grad_f(x)`` returning an array of x's shape (or that array itself).
    x : array
        The point (real floating, finite), any array-API namespace.
    method : {'central', 'richardson', 'forward', 'complex'}
        The numerical derivative (central by default).
    h : None, float or array
        None: the error-model step; otherwise the absolute step.
    safety : float
        Entries pass within ``safety`` times the error model's bound.
    diagnose : bool
        Re-check failing entries at h/10 and look for kinks (central and
        Richardson only: 2 evaluations per diagnosed entry, plus f(x) once).
    max_diagnose : int
        Diagnose at most this many failing entries (the worst).
    vectorized, batch_size, noise, probes, seed
        As in :func:`numerical_gradient`.
    warn_float32 : bool
        Warn (:class:`PrecisionWarning`) when x is not float64.
    entries : sequence of int, optional
        Check only these flat indices (2 evaluations each instead of 2n in all):
        a sample of a big model's entries, or the ones :func:`localize` reported.
    pieces : callable, optional
        For piecewise-smooth f: ``pieces(x)`` identifies x's smooth piece (e.g.
        the ReLU activation pattern). A failing entry whose stencil left the
        piece is a non-differentiable point within h of x ('kink'), whatever
        the one-sided differences say.

    Returns
    -------
    GradientReport
        ``.passed``, ``.verdict``, ``.worst`` (flat indices, worst first),
        per-entry values and tolerances, diagnoses, ``.evaluations``, and a readable ``str()``.

    Raises
    ------
    TypeError, ValueError
        As :func:`numerical_gradient`; also when grad_f(x)'s shape differs from x's.

    Notes
    -----
    Entry i passes when

    .. math:: |a_i - n_i| \le s\,\big(E_i(h) + \epsilon\max(|a_i|, |n_i|)\big),

    with :math:`E_i(h)` the bound of :mod:`gc_theory.gradcheck.error_model` at the
    step used (for an explicit h, the model's bound at that h, with M
    estimated), and s = `safety`. A gradient that is wrong by more than that
    fails; the diagnosis (module docstring) then says whether the code or the
    step is at fault. Kinks are reported, not counted as failures.

    A pass is only as strong as its tolerance. With an explicit h the bound
    :math:`E_i(h)` is compared with :math:`E_i(h^*)` at the error-model step;
    where it is more than s times larger, errors between the two pass unseen
    (a sign flip at h = 1, a 1% error at h = 0.1), so the report is
    *inconclusive* and says how large an error can hide. When the noise
    measured at a few units in the last place of x is as large as
    :math:`|f|`, f varies below the spacing of x and no step resolves its
    derivative: inconclusive too, not a bug. The tolerance uses the unit
    roundoff of the coarser of x's and grad_f(x)'s dtypes, and the noise
    that of f's values, and the verdict names either mismatch.

    Examples
    --------
    >>> import numpy as np
    >>> from gc_theory.gradcheck import check_gradient
    >>> f = lambda w: np.sum(w ** 3)
    >>> check_gradient(f, lambda w: 3 * w ** 2, np.array([0.5, -1.0, 2.0])).passed
    True
    >>> report = check_gradient(f, lambda w: 3 * w, np.array([0.5, -1.0, 2.0]))   # a wrong derivative
    >>> report.passed
    False
    >>> report.verdict
    '3 entries are wrong (bug: the error does not shrink with h): entry 0, entry 1, entry 2'

    """
    if isinstance(x, dict):
        raise TypeError(
            "x must be an array, got dict; flatten a dict of parameters with "
            "gc_theory.gradcheck.ravel_params(params) -> (vector, unravel) and check f(unravel(vector))"
        )
    validate_point(x, "x")
    safety = check_positive(safety, "safety")
    check_bool(diagnose, "diagnose")
    max_diagnose = check_int(max_diagnose, "max_diagnose", minimum=0)
    check_bool(warn_float32, "warn_float32")
    seed = check_seed(seed)
    if pieces is not None:
        check_callable(pieces, "pieces")
    g = evaluate_gradient(grad_f, x)
    eps = finfo_eps(x.dtype)
    # An analytic gradient coarser than x (float32 for float64 x) carries its own dtype's rounding.
    eps_g = max(eps, finfo_eps(g.dtype))
    notes = []
    if eps > finfo_eps("float64") and warn_float32:
        warnings.warn(
            f"checking a gradient in {x.dtype}: tolerances follow the dtype (about eps^(2/3) = {eps ** (2 / 3):.1e} "
            "relative for central differences), so only gross bugs show; float64 is the place to check gradients",
            PrecisionWarning,
            stacklevel=2,
        )
    if eps > finfo_eps("float64"):
        notes.append(f"{x.dtype}: tolerances follow the dtype; check in float64 to see small bugs")
    size = math.prod(x.shape)
    chosen = np.arange(size) if entries is None else np.unique(flat_indices(entries, size, "entries"))
    probes = _probe_entries(a_all := to_numpy(g).astype(np.float64).reshape(-1), checked_probes(probes, size), seed)
    result = numerical_gradient(f, x, method, h, vectorized, batch_size=batch_size, noise=noise, probes=probes,
                                seed=seed, full_output=True, entries=None if entries is None else chosen)  # fmt: skip
    evaluations = result.evaluations
    a = a_all[chosen]
    n = to_numpy(result.value).astype(np.float64).reshape(-1)
    steps = to_numpy(result.steps)
    sigma = np.maximum(np.abs(to_numpy(x).astype(np.float64).reshape(-1)), 1.0)[chosen]
    model = result.model
    pred = to_numpy(result.predicted_error).astype(np.float64).reshape(-1)
    if not model.chosen and method != "complex":
        # An explicit h: bound its error with M and the noise estimated at the model step.
        probe = _model_only(f, x, method, noise, probes, seed)
        evaluations += probe.evaluations
        pred = model_error(method, steps / sigma, probe.M, probe.noise) / sigma
        best = probe.predicted_error / sigma
        model = StepModel(method, model.h, probe.M, probe.noise, float(np.max(pred * sigma)), probe.evaluations,
                          chosen=False, magnitude=probe.magnitude)  # fmt: skip
    else:
        best = pred
    rel, tol = _tolerance(pred, a, n, eps_g, safety)
    failed = rel > tol
    diagnoses: dict[int, Diagnosis] = {}
    if diagnose and failed.any() and method in ("central", "richardson"):
        order = np.argsort(-(rel / tol))
        to_check = [int(i) for i in order[: int(failed.sum())][:max_diagnose]]
        compared = Comparison(a, n, steps, sigma, chosen, result, model, eps_g, safety)
        diagnoses, extra = _diagnose(f, x, compared, to_check, pieces)
        evaluations += extra
    unresolved = _unresolved(model)
    if unresolved is None and diagnoses and all(d.kind in ("unresolved", "kink") for d in diagnoses.values()) \
            and any(d.kind == "unresolved" for d in diagnoses.values()):
        unresolved = ("inconclusive: the step cannot resolve f at x: one spacing of x there moves f, to first "
                      "order, by more than f's own size (|x| is too large for its dtype), so no finite difference "
                      "can check these entries")  # fmt: skip
    if unresolved is not None:
        # No step resolves f at x: entries that failed are not evidence of a bug.
        diagnoses = {i: d for i, d in diagnoses.items() if d.kind != "bug"}
    kinks = np.array(sorted(i for i, d in diagnoses.items() if d.kind == "kink"), dtype=np.int64)
    fixed = {i for i, d in diagnoses.items() if d.kind == "kink" or (d.kind == "truncation" and d.passes_at_h10)}
    still = np.array([i for i in chosen[failed].tolist() if i not in fixed], dtype=np.int64)
    bugs = np.array(sorted(i for i, d in diagnoses.items() if d.kind == "bug"), dtype=np.int64)
    worst = chosen[np.argsort(-(rel / tol), kind="stable")]
    verdict = _verdict(failed, still, bugs, kinks, diagnoses, rel.size, x.shape, method, diagnose)
    blind = _blind_step(pred, best, a, n, failed, safety, eps_g) if not model.chosen else None
    if unresolved is not None:
        blind, verdict = unresolved, ""
        still = np.zeros(0, dtype=np.int64)
    if blind is not None:
        # Failures found come first; the blind step then qualifies only the entries that passed.
        verdict = blind if not (still.size and verdict) else f"{verdict}; the entries that passed are {blind}"
    for why in (_dtype_note(g.dtype, x.dtype), result.value_note):
        if why is not None:
            verdict += f"; {why}"
    return GradientReport(
        inconclusive=blind is not None and still.size == 0,
        passed=still.size == 0 and blind is None, verdict=verdict, worst=worst, analytic=a, numerical=n, relative_error=rel,
        tolerance=tol, failed=failed, diagnoses=diagnoses, bugs=bugs, kinks=kinks, evaluations=evaluations,
        model=model, shape=tuple(x.shape), dtype=str(x.dtype).split(".")[-1], method=method, entries=chosen,
        notes=notes,
    )  # fmt: skip


def _blind_step(pred: np.ndarray, best: np.ndarray, a: np.ndarray, n: np.ndarray, failed: np.ndarray,
                safety: float, eps: float) -> str | None:  # fmt: skip
    r"""Why a check at the caller's step cannot pass, or None when it can.

    A passing entry only says :math:`|a_i - n_i| \le s(E_i(h) + \epsilon|a_i|)`. At a
    step far from :math:`h^*`, :math:`E_i(h)` exceeds the error :math:`E_i(h^*)`
    that the best step reaches; when it does by more than the safety factor
    s, an error between the two bounds (a 1% error at h = 0.1, a sign flip at
    h = 1) passes although the error-model step would show it. The check is
    then inconclusive, not passed.
    """
    # Entries where both values are exactly zero have nothing to compare and no bound to lose.
    passing = ~failed & (np.maximum(np.abs(a), np.abs(n)) > 0)
    if not passing.any():
        return None
    lost = pred > safety * (best + eps * np.maximum(np.abs(a), np.abs(n)))
    if not np.any(lost & passing):
        return None
    denom = np.maximum(np.maximum(np.abs(a), np.abs(n)), np.finfo(np.float64).tiny)
    seen = float(np.max(safety * pred[passing] / denom[passing]))
    return (f"inconclusive: at this step the error of the numerical gradient is up to {float(np.max(pred)):.3g} "
            f"(relative {seen:.3g}, with the safety factor); errors below that cannot be seen. The error-model "
            f"step (h=None) sees errors down to {float(np.max(safety * best / denom)):.3g} relative")  # fmt: skip


def _unresolved(model: StepModel) -> str | None:
    """The verdict when the spacing of x cannot resolve f (see :attr:`StepModel.resolved`), else None."""
    if model.resolved:
        return None
    return (f"inconclusive: the step cannot resolve f at x: f's values at neighbouring representable points of x "
            f"differ by about {model.noise:.3g}, as much as |f| ({model.magnitude:.3g}) itself, so f varies on a scale "
            "below the spacing of x and no finite difference can see its derivative there")  # fmt: skip


def _dtype_note(g_dtype: Any, x_dtype: Any) -> str | None:
    if finfo_eps(g_dtype) <= finfo_eps(x_dtype):
        return None
    g_name, x_name = str(g_dtype).split(".")[-1], str(x_dtype).split(".")[-1]
    return (f"grad_f returns {g_name} for {x_name} x: its entries carry {g_name} rounding "
            f"(eps {finfo_eps(g_dtype):.2g}), which the tolerance allows for; return {x_name} to check finer")


def _probe_entries(a: np.ndarray, probes: Any, seed: int) -> Any:
    """Half the probes at the largest analytic entries, half at random.

    Third derivatives vary widely across a network's parameters; the entries
    with the largest gradient are the most sensitive ones, and probing them
    keeps M (hence the step) from being underestimated.
    """
    if not isinstance(probes, (int, np.integer)):
        return probes
    count = min(int(probes), a.size)
    top = np.argsort(-np.abs(a), kind="stable")[: (count + 1) // 2]
    rest = np.setdiff1d(np.arange(a.size), top)
    picked = np.random.default_rng(seed).choice(rest, size=min(count - top.size, rest.size), replace=False)
    return np.concatenate([top, picked])


def diagnose(f: Callable[[Any], Any], grad_f: Any, x: Any, h: Any, entries: Any = None, *,
             safety: float = DEFAULT_SAFETY, noise: float | None = None, probes: int = DEFAULT_PROBES,
             seed: int = 0) -> tuple[dict[int, Diagnosis], int]:  # fmt: skip
    """The shrink-h and kink diagnosis of `entries` (default all) at absolute step h, pass or fail.

    check_gradient runs the same diagnosis on its failing entries; this function
    runs it on any entries, e.g. to watch a correct gradient's error fall 100x
    at a step that is too large. Returns ``({entry: Diagnosis}, evaluations of f)``.
    """
    validate_point(x, "x")
    safety = check_positive(safety, "safety")
    g = evaluate_gradient(grad_f, x)
    size = math.prod(x.shape)
    chosen = np.arange(size) if entries is None else np.unique(flat_indices(entries, size, "entries"))
    probes = checked_probes(probes, size)
    result = numerical_gradient(f, x, "central", h, full_output=True, entries=chosen, seed=seed)
    model = _model_only(f, x, "central", noise, probes, seed)
    a = to_numpy(g).astype(np.float64).reshape(-1)[chosen]
    n = to_numpy(result.value).astype(np.float64).reshape(-1)
    sigma = np.maximum(np.abs(to_numpy(x).astype(np.float64).reshape(-1)), 1.0)[chosen]
    eps = finfo_eps(x.dtype)
    positions = list(range(chosen.size))
    compared = Comparison(a, n, to_numpy(result.steps), sigma, chosen, result, model, eps, safety)
    out, extra = _diagnose(f, x, compared, positions)
    return out, result.evaluations + model.evaluations + extra


def _model_only(f: Callable[[Any], Any], x: Any, method: str, noise: float | None, probes: int, seed: int) -> StepModel:
    """The error model (M and noise) at x, without the full sweep."""
    fc = CountedFunction(f, tuple(x.shape), scalar=True)
    sweep = Sweep(fc, x, array_namespace(x), vectorized=False, batch_size=None)
    model, _ = probe_model(fc, sweep, method, noise, probes, seed, None)
    return StepModel(model.method, model.h, model.M, model.noise, model.predicted_error, fc.evaluations,
                     magnitude=model.magnitude)  # fmt: skip


@dataclass(frozen=True)
class Comparison:
    """The checked entries side by side: what the diagnosis starts from (flat host arrays, one value per checked entry).

    Attributes
    ----------
    analytic, numerical : numpy.ndarray
        a_i and n_i.
    steps, sigma : numpy.ndarray
        The absolute step of each entry and its scale max(|x_i|, 1).
    flat_index : numpy.ndarray
        The flat index in x of each checked entry.
    result : NumericalResult
        The numerical gradient, with f's values at x +- h (``raw``).
    model : StepModel
        The error model (M, noise) at x.
    eps, safety : float
        The unit roundoff that the tolerance uses and the safety factor.
    """

    analytic: np.ndarray
    numerical: np.ndarray
    steps: np.ndarray
    sigma: np.ndarray
    flat_index: np.ndarray
    result: Any
    model: StepModel
    eps: float
    safety: float


def _diagnose(f: Callable[[Any], Any], x: Any, compared: Comparison, positions: list[int],
              pieces: Callable[[Any], Any] | None = None) -> tuple[dict[int, Diagnosis], int]:  # fmt: skip
    """Shrink-h and kink diagnosis of the checked entries at `positions`; returns {flat index: Diagnosis}, evaluations."""
    xp = array_namespace(x)
    a, n, steps, sigma, flat_index = compared.analytic, compared.numerical, compared.steps, compared.sigma, compared.flat_index
    result, model, eps, safety = compared.result, compared.model, compared.eps, compared.safety
    fc = CountedFunction(f, tuple(x.shape), scalar=True)
    f0 = result.f0 if result.f0 is not None else fc(x, "x (unperturbed)")
    flat = to_numpy(x).reshape(-1)
    vp = to_numpy(result.raw["plus"])
    vm = to_numpy(result.raw["minus"])
    xplus = to_numpy(result.raw["plus_x"]).astype(np.float64)
    xminus = to_numpy(result.raw["minus_x"]).astype(np.float64)
    work = xp.asarray(x, copy=True)
    shape = tuple(x.shape)
    out = {}
    for i in positions:
        j = int(flat_index[i])
        idx = j if len(shape) == 1 else tuple(int(k) for k in np.unravel_index(j, shape))
        h10 = steps[i] / 10.0
        xi = float(flat[j])
        # Even the smallest move x_i can make (one spacing of its dtype) changes f, to first order, by
        # more than f's own size: no finite difference resolves f at this entry, whatever the code does.
        spacing = float(np.spacing(np.abs(np.asarray(xi, dtype=flat.dtype))))
        f_size = max(abs(f0), abs(float(vp[i])), abs(float(vm[i])), np.finfo(np.float64).tiny)
        if abs(a[i]) * spacing > 0.1 * f_size:
            out[j] = Diagnosis("unresolved", abs(a[i] - n[i]), math.nan, math.nan, math.nan, math.nan, False)
            continue
        p10 = float(np.asarray(xi + h10, dtype=flat.dtype))
        m10 = float(np.asarray(xi - h10, dtype=flat.dtype))
        if p10 == xi or m10 == xi:
            continue
        work[idx] = p10
        fp10 = fc(work, f"x + h/10 e_{j} ({describe_entry(shape, j)}; shrink-h diagnosis)")
        work[idx] = m10
        fm10 = fc(work, f"x - h/10 e_{j} ({describe_entry(shape, j)}; shrink-h diagnosis)")
        work[idx] = xi
        n10 = (fp10 - fm10) / (p10 - m10)
        # Compare like with like: the central difference at h and at h/10 (also for Richardson).
        central_h = (vp[i] - vm[i]) / (xplus[i] - xminus[i])
        e_h = abs(a[i] - central_h)
        e_h10 = abs(a[i] - n10)
        ratio = e_h / max(e_h10, np.finfo(np.float64).tiny)
        jump_h = abs((vp[i] - f0) / (xplus[i] - xi) - (f0 - vm[i]) / (xi - xminus[i]))
        jump_h10 = abs((fp10 - f0) / (p10 - xi) - (f0 - fm10) / (xi - m10))
        noise = model.noise if math.isfinite(model.noise) else eps * abs(f0)
        rounding_gap = 4.0 * noise / (h10 / 1.0)  # two one-sided quotients, each off by 2*noise/h
        # The model's bound at h/10, in entry units: rounding grows 10x, truncation falls 100x.
        pred_h10 = (model.M * (h10 / sigma[i]) ** 2 / 6.0 + noise / (h10 / sigma[i])) / sigma[i] if math.isfinite(model.M) else math.inf
        denom = max(abs(a[i]), abs(n10), np.finfo(np.float64).tiny)
        tol_h10 = safety * (pred_h10 + eps * denom)
        passes = e_h10 <= tol_h10
        crossed = False
        if pieces is not None:
            base = to_numpy(pieces(x))
            for value in (xplus[i], xminus[i]):
                work[idx] = float(value)
                piece = to_numpy(pieces(work))
                crossed |= piece.shape != base.shape or bool(np.any(piece != base))
            work[idx] = xi
        if crossed or (jump_h10 > safety * rounding_gap and jump_h10 >= 0.3 * jump_h):
            kind = "kink"
        elif math.log10(max(ratio, 1e-300)) >= 1.0 or (passes and ratio > 1.0):
            # Between the two regimes (h/10 near h*) the ratio falls short of 100, but an
            # error that shrank and now passes is a step that was too large, not a bug.
            kind = "truncation"
        elif math.log10(max(ratio, 1e-300)) <= -0.5:
            kind = "rounding"
        else:
            kind = "bug"
        out[j] = Diagnosis(kind, e_h, e_h10, ratio, jump_h, jump_h10, bool(passes), float(tol_h10))
    return out, fc.evaluations


def _verdict(failed, still, bugs, kinks, diagnoses, n, shape, method, diagnosed) -> str:  # noqa: ANN001
    if not failed.any():
        return f"all {n} entries agree with the numerical gradient within the error model's tolerance"
    parts = []
    if bugs.size:
        where = ", ".join(describe_entry(tuple(shape), int(i)) for i in bugs[:5])
        more = f" and {bugs.size - 5} more" if bugs.size > 5 else ""
        parts.append(f"{_count(bugs.size, 'entry is', 'entries are')} wrong (bug: the error does not "
                     f"shrink with h): {where}{more}")  # fmt: skip
    trunc = [i for i, d in diagnoses.items() if d.kind == "truncation"]
    if trunc:
        ok = sum(diagnoses[i].passes_at_h10 for i in trunc)
        parts.append(f"{len(trunc)} failed only through truncation (step too large; {ok} pass at h/10)")
    rnd = [i for i, d in diagnoses.items() if d.kind == "rounding"]
    if rnd:
        parts.append(f"{_count(len(rnd), 'is', 'are')} inconclusive: rounding dominates (f is noisier than eps*|f|; "
                     "pass noise= or a larger h)")  # fmt: skip
    if kinks.size:
        parts.append(f"{_count(kinks.size, 'sits', 'sit')} at non-differentiable points (kinks), where no derivative "
                     "exists: not counted as bugs")  # fmt: skip
    undiagnosed = [i for i in still.tolist() if i not in diagnoses]
    if undiagnosed:
        fail = _count(len(undiagnosed), "entry fails", "entries fail")
        if method not in ("central", "richardson"):
            parts.append(f"{fail} with method={method!r}, which has no diagnosis (the shrink-h and kink tests use "
                         "central differences): rerun with method='central' to tell a bug from a step problem")  # fmt: skip
        elif not diagnosed:
            parts.append(f"{fail} (diagnose=False: not diagnosed)")
        else:
            more = "more " if diagnoses else ""
            parts.append(f"{len(undiagnosed)} {more}{'fails' if len(undiagnosed) == 1 else 'fail'} without a "
                         "diagnosis (raise max_diagnose to diagnose them)")  # fmt: skip
    return "; ".join(parts)


def _count(k: int, one: str, many: str) -> str:
    """'1 entry is' / '3 entries are': the count with the verb (and noun) it agrees with."""
    return f"{k} {one if k == 1 else many}"
