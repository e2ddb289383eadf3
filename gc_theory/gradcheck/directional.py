r"""Directional checks (O(1) evaluations whatever n is) and localisation of wrong entries by group testing.

A directional check compares the analytic directional derivative
:math:`a = g^\top d/(2s)` with :math:`D = (f(x^+) - f(x^-))/(2s)`, where
:math:`x^\pm = \mathrm{fl}(x \pm s u)` and :math:`d = x^+ - x^-` is the
displacement actually taken (so that representing :math:`x \pm su` costs no
accuracy). Directions are :math:`u_i = r_i\sigma_i` with random weights
:math:`r_i = \pm(1 + U_i)`, :math:`U_i` uniform on [0, 1) (random signs, and
magnitudes that keep two equal errors from cancelling exactly), and
:math:`\sigma_i = \max(|x_i|, 1)`: every entry moves, by a relative step
between s and 2s, like a coordinate step. A wrong entry j shifts the
discrepancy :math:`\delta = a - D` by :math:`(\tilde g_j - g_j)\,r_j\sigma_j`,
whatever n is.

Tolerance. Each direction is evaluated at steps s and 2s (4 evaluations). The
truncation error of the central difference is :math:`cs^2 + O(s^4)`, so
:math:`\delta(2s) - \delta(s) \approx 3cs^2` *estimates it* (and a bug, which
is the same at both steps, cancels from that estimate). The tolerance is

.. math::

    \tau = \mathrm{safety}\,\Big(\tfrac{|\delta(2s) - \delta(s)|}{3} + \frac{\epsilon_f}{s}
          + \gamma_{\lceil\log_2 n\rceil + 1}\frac{|g|^\top|d|}{2s}\Big),

truncation, rounding of f (:math:`\epsilon_f = \epsilon\max|f|`) and rounding
of the inner product (pairwise summation, Higham Sec. 4.2).

Localisation. Directions restricted to a group G of coordinates add up:
:math:`u = u_L + u_R`, and so do discrepancies, to first order. Starting from
a failing direction on all n coordinates, :func:`localize` measures the left
half (2 evaluations) and *derives* the right half as parent minus left (with
the two tolerances added), then descends into every half whose discrepancy
exceeds its tolerance. One wrong entry among n is found with at most
:math:`4 + 2\lceil\log_2 n\rceil + 8` evaluations (the failing direction, one
group test per level, two fresh directions on the remaining coordinates that
must pass to conclude); k wrong entries with about :math:`2k\log_2(n/k)` more.

Host transfers: the random signs are drawn on the host and moved once; each
test reads f's two scalar values and one inner product to the host.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from gc_theory.core.validation import check_callable, check_int, check_nonnegative, check_positive, check_seed
from gc_theory.core.backend import finfo_eps, to_numpy
from gc_theory.verify.tolerances import gamma
from ._evaluate import CountedFunction, describe_entry, validate_point
from ._report import CheckReport
from .check import DEFAULT_SAFETY, evaluate_gradient
from .error_model import resolved_points

__all__ = ["DirectionalReport", "Localization", "directional_check", "localize"]


@dataclass
class DirectionalReport(CheckReport):
    """Outcome of a directional check: one row per random direction.

    Attributes
    ----------
    passed : bool
        Every direction agrees within its tolerance.
    analytic, numerical, discrepancy, tolerance, relative_error : numpy.ndarray
        Per direction: :math:`a`, :math:`D(s)`, :math:`|a - D|`, :math:`\\tau`, and
        :math:`|a - D|/\\max(|a|, |D|)`.
    evaluations : int
        Evaluations of f (4 per direction).
    step : float
        The relative step s.
    verdict : str
        Plain text.
    """

    discrepancy: np.ndarray
    evaluations: int
    step: float
    crossed_kink: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    title: ClassVar[str] = "directional check"

    def __str__(self) -> str:
        lines = [self.headline(),
                 f"  {self.evaluations} evaluations of f, relative step {self.step:.3g}",
                 f"  {'direction':>9}{'u^T grad':>14}{'difference':>14}{'|gap|':>11}{'tolerance':>11}"]  # fmt: skip
        for k in range(self.analytic.size):
            lines.append(f"  {k:>9}{self.analytic[k]:>14.6g}{self.numerical[k]:>14.6g}"
                         f"{self.discrepancy[k]:>11.3g}{self.tolerance[k]:>11.3g}")  # fmt: skip
        return "\n".join(lines)

    __repr__ = __str__


@dataclass
class Localization:
    """The entries a group-testing search found wrong.

    Attributes
    ----------
    indices : numpy.ndarray
        Flat indices (C order of x) of the wrong entries, sorted.
    estimated_errors : numpy.ndarray
        For each index, the estimated error of the analytic entry, :math:`\\tilde g_j - g_j`.
    evaluations : int
        Evaluations of f spent (the initial directional test included).
    tests : int
        Group tests measured (2 evaluations each).
    unresolved : list of (int, int)
        Index ranges [lo, hi) whose discrepancy could not be pinned to single entries.
    verdict : str
        Plain text.
    """

    indices: np.ndarray
    estimated_errors: np.ndarray
    evaluations: int
    tests: int
    unresolved: list[tuple[int, int]] = field(default_factory=list)
    verdict: str = ""
    shape: tuple[int, ...] = ()

    def __len__(self) -> int:
        return int(self.indices.size)

    def __iter__(self):  # noqa: ANN204
        return iter(self.indices.tolist())

    def __str__(self) -> str:
        lines = [f"localisation: {self.verdict}", f"  {self.evaluations} evaluations of f, {self.tests} group tests"]
        for i, e in zip(self.indices[:10].tolist(), self.estimated_errors[:10].tolist()):
            lines.append(f"  {describe_entry(self.shape, i)}: analytic - true ~ {e:.4g}")
        return "\n".join(lines)

    __repr__ = __str__


class _Prober:
    """Central differences of f along restricted random directions, with the actual displacements."""

    def __init__(self, f: Callable[[Any], Any], g: Any, x: Any, xp: Any, step: float, seed: int,
                 pieces: Callable[[Any], Any] | None = None, noise: float | None = None):  # fmt: skip
        self.noise = noise
        self.xp, self.x, self.shape = xp, x, tuple(x.shape)
        self.pieces = None if pieces is None else check_callable(pieces, "pieces")
        self.base_piece = None if pieces is None else to_numpy(pieces(x))
        self.crossed = False
        self.n = math.prod(self.shape)
        self.fc = CountedFunction(f, self.shape, scalar=True)
        self.x64 = xp.astype(xp.reshape(x, (self.n,)), xp.float64)
        self.g64 = xp.astype(xp.reshape(g, (self.n,)), xp.float64)
        self.sigma = xp.maximum(xp.abs(self.x64), xp.asarray(1.0, dtype=xp.float64))
        self.rng = np.random.default_rng(check_seed(seed))
        self.s = step
        # Every entry moves by at least s*sigma_i (weights |r_i| >= 1): the one spacing rule applies to that.
        resolved_points(xp, xp.reshape(x, (self.n,)), step * self.sigma, (1.0, -1.0), lambda i: describe_entry(self.shape, i))
        self.eps = finfo_eps(x.dtype)
        self.gamma = gamma(math.ceil(math.log2(max(self.n, 2))) + 1, x.dtype)
        self.index = xp.arange(self.n)
        self.magnitude = 0.0

    def direction(self) -> Any:
        # Random signs and magnitudes in [1, 2): equal errors in two entries cannot cancel exactly.
        weights = np.where(self.rng.random(self.n) < 0.5, -1.0, 1.0) * (1.0 + self.rng.random(self.n))
        return self.xp.asarray(weights) * self.sigma

    def restrict(self, u: Any, lo: int, hi: int) -> Any:
        if lo == 0 and hi == self.n:
            return u
        inside = (self.index >= lo) & (self.index < hi)
        return self.xp.where(inside, u, self.xp.zeros_like(u))

    def measure(self, u: Any, t: float, label: str) -> tuple[float, float, float]:
        """(analytic a, numerical D, |g|^T|d|/(2t)) along u at step t."""
        xp = self.xp
        plus = xp.astype(self.x64 + t * u, self.x.dtype)
        minus = xp.astype(self.x64 - t * u, self.x.dtype)
        fp = self.fc(xp.reshape(plus, self.shape), f"x + {t:.3g}*u ({label})")
        fm = self.fc(xp.reshape(minus, self.shape), f"x - {t:.3g}*u ({label})")
        if self.pieces is not None:
            for point in (plus, minus):
                piece = to_numpy(self.pieces(xp.reshape(point, self.shape)))
                self.crossed |= piece.shape != self.base_piece.shape or bool(np.any(piece != self.base_piece))
        self.magnitude = max(self.magnitude, abs(fp), abs(fm))
        d = xp.astype(plus, xp.float64) - xp.astype(minus, xp.float64)
        a = float(xp.sum(self.g64 * d)) / (2 * t)
        size = float(xp.sum(xp.abs(self.g64) * xp.abs(d))) / (2 * t)
        return a, (fp - fm) / (2 * t), size

    def full_test(self, u: Any, safety: float) -> tuple[float, float, float, float]:
        """(a, D, delta, tau) at step s, with the truncation estimated from step 2s.

        With `pieces`, a stencil that leaves x's smooth piece is measured again at
        s/16 (twice at most); ``self.crossed`` says whether the last one still did.
        """
        for _ in range(3):
            self.crossed = False
            result = self._full_test(u, safety)
            if not self.crossed:
                break
            self.s /= 16.0
        return result

    def _full_test(self, u: Any, safety: float) -> tuple[float, float, float, float]:
        a1, d1, size1 = self.measure(u, self.s, "directional check, step s")
        a2, d2, _ = self.measure(u, 2 * self.s, "directional check, step 2s")
        delta1, delta2 = a1 - d1, a2 - d2
        self.truncation = abs(delta2 - delta1) / 3.0
        tau = safety * (self.truncation + self.rounding() + self.gamma * size1)
        return a1, d1, delta1, tau

    def rounding(self) -> float:
        if self.noise is not None:
            return self.noise / self.s  # the caller's bound on |fl(f) - f|: two values, each off by at most that, over 2s
        # f's values may be coarser than x (float32 values for float64 x): their rounding counts.
        return self.fc.value_eps(self.x.dtype) * max(self.magnitude, np.finfo(np.float64).tiny) / self.s

    def group_test(self, u: Any, lo: int, hi: int, safety: float) -> tuple[float, float]:
        """(delta, tau) for the direction restricted to [lo, hi), 2 evaluations."""
        a, d, size = self.measure(self.restrict(u, lo, hi), self.s, f"group test of entries {lo}..{hi - 1}")
        return a - d, safety * (self.truncation + self.rounding() + self.gamma * size)


def _step(h: float | None, eps: float) -> float:
    if h is None:
        # The central difference's h* for a function whose third derivative is about 3|f|.
        return eps ** (1.0 / 3.0)
    if isinstance(h, bool) or not isinstance(h, (int, float, np.floating)) or not (0 < float(h) < math.inf):
        raise ValueError(f"h must be None or a positive number (a relative step), got {h!r}")
    return float(h)


def directional_check(f: Callable[[Any], Any], grad_f: Any, x: Any, *, directions: int = 2, h: float | None = None,
                      safety: float = DEFAULT_SAFETY, seed: int = 0, pieces: Callable[[Any], Any] | None = None,
                      noise: float | None = None) -> DirectionalReport:  # fmt: skip
    r"""Compare :math:`u^\top\nabla f` with a central difference along a few random directions.

    O(1) evaluations of f whatever the number of parameters: 4 per direction
    (steps s and 2s, the second to estimate the truncation error). Use it first
    on big models; when it fails, :func:`localize` finds the wrong entries.

    Parameters
    ----------
    f : callable
        Scalar function of x.
    grad_f : callable or array
        The analytic gradient (x's shape).
    x : array
        Real floating, finite; any array-API namespace.
    directions : int
        Number of random directions (default 2: 8 evaluations).
    h : float, optional
        Relative step s (default :math:`\epsilon^{1/3}`).
    safety : float
        Multiplies the derived tolerance (module docstring).
    seed : int
        Seeds the random signs.
    pieces : callable, optional
        For piecewise-smooth f (ReLU, max): ``pieces(x)`` returns an array that
        identifies x's smooth piece (e.g. the ReLU activation pattern; equal at
        two points when no kink lies between them). A stencil that crosses a kink
        is repeated at 1/16 of the step, twice at most; a direction that still
        crosses is reported and not counted. Without it, a direction that
        crosses a kink can fail although the gradient is right (the step moves
        every entry at once).
    noise : float, optional
        A bound on the rounding error of f's values, :math:`|\mathrm{fl}(f(x')) - f(x')|`,
        at every point :math:`x'` the stencils visit (within :math:`2s\max(|x_i|, 1)`
        of x entrywise). It replaces the generic :math:`\epsilon\max|f|` in the
        tolerance's rounding term, :math:`\epsilon_f/s`: a model that knows its
        own rounding (a layer-derived bound) passes it here.

    Returns
    -------
    DirectionalReport

    Raises
    ------
    TypeError, ValueError
        Bad x, grad_f shape mismatch, non-scalar or non-finite f (naming the direction and step).

    Notes
    -----
    The tolerance is derived in the module docstring. A bug in entry j shows
    as a discrepancy :math:`|\tilde g_j - g_j|\sigma_j`, independent of n.
    """
    xp = validate_point(x, "x")
    check_int(directions, "directions", minimum=1)
    safety = check_positive(safety, "safety")
    if noise is not None:
        noise = check_nonnegative(noise, "noise")
    g = evaluate_gradient(grad_f, x)
    prober = _Prober(f, g, x, xp, _step(h, finfo_eps(x.dtype)), seed, pieces, noise)
    rows, crossed = [], []
    for _ in range(directions):
        a, d, delta, tau = prober.full_test(prober.direction(), safety)
        rows.append((a, d, abs(delta), tau))
        crossed.append(prober.crossed)
    arr = np.array(rows, dtype=np.float64)
    rel = arr[:, 2] / np.maximum(np.maximum(np.abs(arr[:, 0]), np.abs(arr[:, 1])), np.finfo(np.float64).tiny)
    counted = ~np.array(crossed)
    passed = bool(np.all(arr[counted, 2] <= arr[counted, 3]))
    if passed and not counted.any():
        verdict = "every direction crossed a non-differentiable point: inconclusive (check entries with check_gradient)"
    elif passed:
        verdict = f"u^T grad matches the central difference along {int(counted.sum())} random direction(s)"
        if not counted.all():
            verdict += f"; {int((~counted).sum())} crossed a non-differentiable point and were not counted"
    else:
        bad = int(np.argmax(arr[:, 2] / arr[:, 3]))
        verdict = (f"direction {bad} disagrees: |gap| {arr[bad, 2]:.3g} > tolerance {arr[bad, 3]:.3g} "
                   f"(relative {rel[bad]:.3g}); the gradient is wrong somewhere: localize() finds where")  # fmt: skip
    why = prober.fc.value_note(x.dtype)
    if why is not None:
        verdict += f"; {why}"
    return DirectionalReport(passed=passed, verdict=verdict, analytic=arr[:, 0], numerical=arr[:, 1], relative_error=rel,
                             tolerance=arr[:, 3], discrepancy=arr[:, 2], evaluations=prober.fc.evaluations,
                             step=prober.s, crossed_kink=np.array(crossed))  # fmt: skip


def localize(f: Callable[[Any], Any], grad_f: Any, x: Any, *, h: float | None = None, safety: float = DEFAULT_SAFETY,
             seed: int = 0, directions: int = 2, max_evaluations: int | None = None,
             pieces: Callable[[Any], Any] | None = None) -> Localization:  # fmt: skip
    r"""Find the wrong entries of an analytic gradient by bisection / group testing.

    Parameters
    ----------
    f, grad_f, x, h, safety, seed, pieces
        As in :func:`directional_check` (with `pieces`, the step shrinks until the
        starting direction stays on x's smooth piece; group tests use that step).
    directions : int
        Random directions tried on all coordinates before concluding that
        nothing is wrong (a direction that already fails starts the search).
    max_evaluations : int, optional
        Stop after this many evaluations of f (default 4n + 4*directions). Group
        testing pays off when few entries are wrong (O(k log n) for k of them);
        when most are wrong it costs up to twice a full central-difference check,
        and check_gradient is the better tool.

    Returns
    -------
    Localization
        ``.indices`` (flat, sorted), ``.estimated_errors``, ``.evaluations``, ``.verdict``.

    Notes
    -----
    One wrong entry among n costs at most :math:`4 + 2\lceil\log_2 n\rceil + 4\cdot`
    `directions` evaluations (module docstring); the discrepancy of a group is
    compared with its own tolerance, which for a derived half is the sum of the
    two measured ones.
    """
    xp = validate_point(x, "x")
    check_int(directions, "directions", minimum=1)
    safety = check_positive(safety, "safety")
    if max_evaluations is not None:
        check_int(max_evaluations, "max_evaluations", minimum=1)
    g = evaluate_gradient(grad_f, x)
    prober = _Prober(f, g, x, xp, _step(h, finfo_eps(x.dtype)), seed, pieces)
    n = prober.n
    budget = 4 * n + 4 * directions if max_evaluations is None else int(max_evaluations)
    found: dict[int, float] = {}
    unresolved: list[tuple[int, int]] = []
    tests = 0
    stopped = False
    failed_once = False
    passes = 0
    # Rounds: a fresh random direction on the coordinates not yet found; a failing one starts a
    # search. `directions` passing rounds in a row end it, so errors that happened to cancel in
    # one direction's groups are caught by the next.
    while passes < directions and not stopped:
        if prober.fc.evaluations + 4 > budget:
            stopped = True
            break
        u = prober.direction()
        if found:
            keep = np.ones(n)
            keep[list(found)] = 0.0
            u = u * xp.asarray(keep)
        _, _, delta, tau = prober.full_test(u, safety)
        if abs(delta) <= tau:
            passes += 1
            continue
        passes = 0
        failed_once = True
        new, left, spent, stopped = _search(prober, u, delta, tau, safety, budget)
        tests += spent
        unresolved += left
        if not new:
            break  # the direction failed but no single entry could be pinned down: report, do not loop
        found.update(new)
    indices = np.array(sorted(found), dtype=np.int64)
    errors = np.array([found[i] for i in indices.tolist()], dtype=np.float64)
    verdict = _verdict(failed_once, indices, unresolved, stopped, prober.fc.evaluations, directions, tuple(x.shape))
    why = prober.fc.value_note(x.dtype)
    if why is not None:
        verdict += f"; {why}"
    return Localization(indices, errors, prober.fc.evaluations, tests, unresolved, verdict, tuple(x.shape))


def _search(prober: _Prober, u: Any, delta: float, tau: float, safety: float,
            budget: int) -> tuple[dict[int, float], list[tuple[int, int]], int, bool]:  # fmt: skip
    """Bisect [0, n) along direction u, from a discrepancy delta > tau; returns (found, unresolved, tests, stopped)."""
    u_host = to_numpy(u)
    found: dict[int, float] = {}
    unresolved: list[tuple[int, int]] = []
    tests, stopped = 0, False
    stack = [(0, prober.n, delta, tau)]
    while stack:
        lo, hi, d_parent, t_parent = stack.pop()
        if hi - lo == 1:
            if u_host[lo] != 0.0:
                found[lo] = d_parent / float(u_host[lo])
            continue
        if prober.fc.evaluations + 2 > budget:
            stopped = True
            unresolved.append((lo, hi))
            continue
        mid = (lo + hi) // 2
        d_left, t_left = prober.group_test(u, lo, mid, safety)
        tests += 1
        d_right, t_right = d_parent - d_left, t_parent + t_left
        left_bad, right_bad = abs(d_left) > t_left, abs(d_right) > t_right
        if not left_bad and not right_bad and prober.fc.evaluations + 2 <= budget:
            d_right, t_right = prober.group_test(u, mid, hi, safety)
            tests += 1
            right_bad = abs(d_right) > t_right
            if not right_bad:
                unresolved.append((lo, hi))
        if right_bad:
            stack.append((mid, hi, d_right, t_right))
        if left_bad:
            stack.append((lo, mid, d_left, t_left))
    return found, unresolved, tests, stopped


def _verdict(failed: bool, indices: np.ndarray, unresolved: list[tuple[int, int]], stopped: bool, evaluations: int,
             directions: int, shape: tuple[int, ...]) -> str:  # fmt: skip
    if not failed:
        return f"no wrong entry: {directions} random direction(s) on all coordinates agree with the gradient"
    parts = []
    if indices.size:
        where = ", ".join(describe_entry(shape, int(i)) for i in indices[:5])
        parts.append(f"{indices.size} wrong entr{'y' if indices.size == 1 else 'ies'} found in {evaluations} evaluations: "
                     f"{where}{' ...' if indices.size > 5 else ''}")  # fmt: skip
    if unresolved:
        why = "the evaluation budget ran out" if stopped else "their errors cancel or sit near the tolerance"
        parts.append(f"{len(unresolved)} group(s) not resolved ({why}): use check_gradient on them")
    return "; ".join(parts) or "the full direction failed but no group did: errors too close to the tolerance"
