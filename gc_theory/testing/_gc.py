r"""Assertions for a user's Gradient Centralization and rank-one projections.

:func:`assert_centralizes` property-checks a GC function over drawn layouts,
dtypes and magnitudes; :func:`assert_projection` checks a matrix (or a
function applying it) against the four properties of a rank-one projection.
Both measure with the residuals of :mod:`gc_theory.gc.residuals` and
:mod:`gc_theory.gc.projections`, whose tolerances are derived there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gc_theory.core.backend import DTYPES, array_namespace, to_numpy
from gc_theory.core.validation import check_callable, check_choice, check_positive_int, check_seed
from gc_theory.gc.layouts import as_columns, from_columns, reduction_axes
from gc_theory.gc.centralization import projection_matrix
from gc_theory.gc.projections import annihilation_residual, idempotence_residual, spectrum_residual, symmetry_residual
from gc_theory.gc.residuals import centralize_tolerance
from gc_theory.verify.measurement import Measurement
from gc_theory.verify.tolerances import gamma

from ._common import call, check_result, check_slack, check_unmodified, close, host, namespace, require, snapshot

__all__ = ["assert_centralizes", "assert_projection"]

_WHO = "assert_centralizes"


def _shapes(rng: np.random.Generator, layout: str) -> tuple[int, ...]:
    """An output-axis-first shape with at least two averaged entries per unit."""
    if layout == "fc":
        return (int(rng.integers(1, 9)), int(rng.integers(2, 17)))
    return (int(rng.integers(1, 7)), int(rng.integers(1, 5)), int(rng.integers(1, 4)), int(rng.integers(2, 4)))


def _cases(examples: int, layouts: Sequence[str], dtypes: Sequence[str], axis: int, seed: int):
    """Host gradients in the stored layout of `axis`: drawn shape, magnitude 10^k and a per-unit offset."""
    rng = np.random.default_rng(seed)
    for i in range(examples):
        layout, dtype = layouts[i % len(layouts)], dtypes[(i // len(layouts)) % len(dtypes)]
        shape = _shapes(rng, layout)
        magnitude = 10.0 ** int(rng.integers(-3, 4))
        offset = rng.standard_normal((shape[0],) + (1,) * (len(shape) - 1))
        g = (rng.standard_normal(shape) + offset) * magnitude
        yield layout, dtype, np.moveaxis(g, 0, axis).astype(dtype), magnitude


def _wrong_versions(g: np.ndarray, axis: int) -> list[tuple[str, np.ndarray]]:
    """Plausible mistakes, as host float64 results, each with the diagnosis it stands for."""
    kept = axis % g.ndim
    averaged = reduction_axes(g.shape, axis)
    out = [(f"it averages over axis {kept}, the output-unit axis, instead of the others (wrong axis: the kept axis is "
            f"{axis})", g - g.mean(axis=kept, keepdims=True)),
           ("it subtracts the sum instead of the mean", g - g.sum(axis=averaged, keepdims=True)),
           ("it averages over the whole tensor (axis=None) instead of per output unit", g - g.mean()),
           ("it returns the gradient unchanged for this layout (is this layout skipped?)", g),
           ("it returns the per-unit mean instead of the gradient minus its mean",
            np.broadcast_to(g.mean(axis=averaged, keepdims=True), g.shape))]  # fmt: skip
    if kept != 0:
        first = tuple(range(1, g.ndim))
        out.append(("it averages the axes of the output-first layout (PyTorch's), but this layout keeps the output "
                    f"unit on axis {axis}", g - g.mean(axis=first, keepdims=True)))  # fmt: skip
    if len(averaged) > 1:
        for a in averaged:
            out.append((f"it averages over axis {a} only, not over all of {averaged}", g - g.mean(axis=a, keepdims=True)))
    return out


def _diagnose(g: np.ndarray, got: np.ndarray, axis: int, tol: float) -> str | None:
    for text, wrong in _wrong_versions(g.astype(np.float64), axis):
        if close(got, wrong, tol):
            return text
    return None


def assert_centralizes(fn: Callable[[Any], Any], *, axis: int = 0, examples: int = 24,
                       layouts: Sequence[str] = ("fc", "conv"), dtypes: Sequence[str] = DTYPES, xp: Any = None,
                       seed: int = 0, slack: float = 1.0, biases: bool = True) -> Measurement:  # fmt: skip
    r"""Assert that ``fn(g)`` is Gradient Centralization of g, for every drawn layout, dtype and magnitude.

    For each of `examples` gradients (fully connected ``(out, in)`` and conv
    ``(out, in, kh, kw)`` shapes, stored with the output unit on `axis`,
    magnitudes :math:`10^{-3}` to :math:`10^{3}` with a per-unit offset) it
    checks, in this order: the result has g's namespace, shape and dtype and is
    finite; g was not modified; every unit's mean is zero; the result agrees
    with :math:`P` applied to the paper's column view; ``fn(fn(g)) = fn(g)``.
    With `biases`, a 1-d gradient (a bias) must come back unchanged.

    Parameters
    ----------
    fn : callable
        The implementation under test: ``fn(g) -> array`` of g's shape.
    axis : int, default 0
        The output-unit axis of the layout `fn` is written for (0 for PyTorch's
        ``(out, in, kh, kw)``, -1 for a Keras ``(kh, kw, in, out)`` kernel).
    examples : int, default 24
        Number of drawn gradients.
    layouts : sequence of {"fc", "conv"}
        Which weight kinds to draw.
    dtypes : sequence of {"float64", "float32"}
        Which dtypes to draw.
    xp : module, optional
        The namespace `fn` works in (``torch``, ``array_api_strict``...);
        default NumPy.
    seed : int
        Seeds the drawn cases.
    slack : float, default 1
        Multiplies every tolerance, for implementations that round differently.
    biases : bool, default True
        Also check that a bias (1-d) is returned unchanged.

    Returns
    -------
    Measurement
        The worst agreement with P (residual, tolerance, scale, case).

    Raises
    ------
    AssertionError
        The implementation is wrong: the message names the case, the property,
        the measured and allowed values, the unit, and the likely mistake.
    TypeError, ValueError
        A bad argument of the assertion itself.

    Notes
    -----
    The tolerances are those of :func:`gc_theory.gc.residuals.centralize_tolerance`,
    :math:`(3\gamma_{M+1} + 5u)\max|g|`: a mean computed by any summation order
    and a subtraction, against the rounded product :math:`\hat P g`. The
    zero-mean check adds the float64 rounding of the measurement's own mean,
    :math:`\gamma_M\max|fn(g)|` in double precision. An implementation that
    accumulates in a lower precision than g's dtype needs `slack`.

    Examples
    --------
    >>> import numpy as np
    >>> from gc_theory.testing import assert_centralizes
    >>> def my_gc(g):
    ...     axes = tuple(range(1, g.ndim))
    ...     return g - g.mean(axis=axes, keepdims=True) if g.ndim > 1 else g
    >>> assert_centralizes(my_gc).passed
    True
    >>> assert_centralizes(lambda g: g - g.mean(axis=0, keepdims=True))
    Traceback (most recent call last):
    ...
    AssertionError: assert_centralizes: zero mean per output unit fails
    ...
    """
    fn = check_callable(fn, "fn")
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise TypeError(f"axis must be an int naming the kept output-unit axis, got {type(axis).__name__} {axis!r}")
    if axis not in (0, 1, -1, -2):
        raise ValueError(f"axis must be 0, 1, -1 or -2 (an axis of both a 2-d and a 4-d weight), got {axis}")
    examples = check_positive_int(examples, "examples")
    layouts = [check_choice(x, "layouts", ("fc", "conv")) for x in layouts] or None
    dtypes = [check_choice(x, "dtypes", DTYPES) for x in dtypes] or None
    if layouts is None or dtypes is None:
        raise ValueError("layouts and dtypes must name at least one entry each")
    seed, slack, xp = check_seed(seed), check_slack(slack), namespace(xp)
    results = []
    for i, (layout, dtype, g_host, magnitude) in enumerate(_cases(examples, layouts, dtypes, axis, seed)):
        case = f"#{i} {layout} gradient of shape {g_host.shape}, {dtype}, axis={axis}, magnitude {magnitude:g}"
        g = host(xp, g_host, dtype)
        before = snapshot(g)
        out = call(_WHO, fn, case, g)
        got = check_result(_WHO, "fn(g)", out, g, case)
        check_unmodified(_WHO, "g", before, g, case)
        kept = axis % g_host.ndim
        averaged = reduction_axes(g_host.shape, axis)
        M = math.prod(g_host.shape[a] for a in averaged)
        scale = max(float(np.max(np.abs(g_host))), 1e-300)
        tol = centralize_tolerance(M, dtype, scale) * slack
        diagnosis = lambda: _diagnose(g_host, got, axis, 64 * tol)  # noqa: E731 - computed only on failure
        means = got.mean(axis=averaged)
        unit = np.unravel_index(int(np.argmax(np.abs(means))), means.shape)
        mean_m = Measurement(float(np.max(np.abs(means))), tol + gamma(M, "float64") * float(np.max(np.abs(got))), scale, case)
        require(_WHO, "zero mean per output unit", mean_m, dtype, case, diagnosis,
                where=f"unit {unit[0] if len(unit) == 1 else unit} (index on axis {kept}) has mean {float(means[unit]):.3g}")
        columns = as_columns(g_host, axis)
        expected = from_columns(to_numpy(projection_matrix(M, dtype=dtype)) @ columns, g_host.shape, axis).astype(np.float64)
        gap = np.abs(got - expected)
        entry = np.unravel_index(int(np.argmax(gap)), gap.shape)
        agree = Measurement(float(np.max(gap)), tol, scale, case)
        require(_WHO, "agreement with P on the column view", agree, dtype, case, diagnosis,
                where=f"entry {tuple(int(k) for k in entry)}: got {got[entry]:.6g}, P g gives {expected[entry]:.6g}")
        twice = check_result(_WHO, "fn(fn(g))", call(_WHO, fn, case + " (applied twice)", out), g, case)
        require(_WHO, "idempotence fn(fn(g)) = fn(g)", Measurement(float(np.max(np.abs(twice - got))), tol, scale, case),
                dtype, case)
        results.append(agree)
    if biases:
        b_host = np.random.default_rng(seed).standard_normal(5) + 3.0
        case = "a bias of shape (5,), float64"
        b = host(xp, b_host, "float64")
        got = check_result(_WHO, "fn(bias)", call(_WHO, fn, case, b), b, case)
        m = Measurement(float(np.max(np.abs(got - b_host))), 0.0, float(np.max(np.abs(b_host))), case)
        require(_WHO, "biases untouched", m, "float64", case,
                lambda: "it centralised a bias: GC applies to weights with two or more axes; a 1-d bias is returned unchanged")
    return Measurement.worst(results)


_PWHO = "assert_projection"


def _as_matrix(P_or_apply: Any, u: Any) -> Any:
    """P itself, or the matrix whose column j is ``apply(e_j)``."""
    xp = array_namespace(u)
    M = u.shape[0]
    if not callable(P_or_apply):
        if array_namespace(P_or_apply) is not xp:
            raise TypeError("P_or_apply must be an array of u's namespace, or a callable applying P to a vector")
        if tuple(P_or_apply.shape) != (M, M):
            raise ValueError(f"P_or_apply must have shape ({M}, {M}) for u of shape ({M},), got {tuple(P_or_apply.shape)}")
        return P_or_apply
    I = xp.eye(M, dtype=u.dtype)
    columns = []
    for j in range(M):
        case = f"apply(e_{j}), M={M}"
        col = call(_PWHO, P_or_apply, case, I[:, j])
        check_result(_PWHO, "apply(x)", col, I[:, j], case)
        columns.append(col)
    return xp.stack(columns, axis=1)


def _projection_diagnosis(P: np.ndarray, u: np.ndarray) -> str | None:
    M = u.shape[0]
    uu = np.outer(u, u) / (u @ u)
    e = np.ones(M) / math.sqrt(M)
    loose = 1e-6 * max(1.0, float(np.max(np.abs(P))))
    candidates = [("P is the identity: the projection is missing", np.eye(M)),
                  ("P is u u^T/u^T u, the projection onto u, instead of I minus it", uu),
                  ("P is the reflection I - 2 u u^T/u^T u (factor 2)", np.eye(M) - 2 * uu),
                  ("P removes the mean direction e (GC's P), not u", np.eye(M) - np.outer(e, e)),
                  ("P is I - u u^T: u was not normalised (divide by u^T u)", np.eye(M) - np.outer(u, u))]  # fmt: skip
    for text, wrong in candidates:
        if M > 1 and close(P, wrong, loose):
            return text
    if not close(P, P.T, loose):
        return "P is not symmetric: an oblique projection, or rows and columns swapped in part of it"
    return None


def assert_projection(P_or_apply: Any, u: Any, *, slack: float = 1.0) -> Measurement:
    r"""Assert that P (or the map it applies) is the orthogonal projection :math:`I - u u^\top/u^\top u`.

    Checks, in order: symmetric, idempotent, annihilates u, spectrum {0, 1}
    (one eigenvalue 0, the others 1), each against the tolerance
    :mod:`gc_theory.gc.projections` derives.

    Parameters
    ----------
    P_or_apply : array or callable
        The (M, M) matrix, or ``apply(x) -> P x`` for a vector x of shape (M,)
        (the matrix is then built column by column, M calls).
    u : array, shape (M,)
        The direction P must remove, nonzero, in the namespace of P.
    slack : float, default 1
        Multiplies every tolerance.

    Returns
    -------
    Measurement
        The worst of the four.

    Raises
    ------
    AssertionError
        A property fails: the message names it, the values, and what P is instead
        (the identity, the projection onto u, a reflection, unnormalised u).
    TypeError, ValueError
        u or P of the wrong kind or shape.

    Notes
    -----
    The tolerances assume P was rounded entrywise from the exact projection
    with the error :math:`E_{ij}` of
    :func:`gc_theory.gc.projections.rank_one_projection` (about
    :math:`\gamma_{2M+8}` relative): an implementation that forms P in a
    different way is within that bound when it forms :math:`u u^\top/u^\top u`
    with one rounding per product and a summed :math:`u^\top u`.

    Examples
    --------
    >>> import numpy as np
    >>> from gc_theory.testing import assert_projection
    >>> u = np.array([1.0, 2.0, 2.0])
    >>> assert_projection(np.eye(3) - np.outer(u, u) / (u @ u), u).passed
    True
    >>> assert_projection(lambda x: x - u * (u @ x), u)
    Traceback (most recent call last):
    ...
    AssertionError: assert_projection: idempotent fails
    ...
    """
    slack = check_slack(slack)
    xp = array_namespace(u)
    if u.ndim != 1 or u.shape[0] == 0:
        raise ValueError(f"u must be a nonempty vector, got shape {tuple(u.shape)}")
    P = _as_matrix(P_or_apply, u)
    case = f"M={u.shape[0]}, {P.dtype}"
    check_result(_PWHO, "P", P, xp.eye(u.shape[0], dtype=u.dtype), case)
    P_host, u_host = to_numpy(P).astype(np.float64), to_numpy(u).astype(np.float64)
    diagnosis = lambda: _projection_diagnosis(P_host, u_host)  # noqa: E731
    measured = []
    for name, m in (("symmetric", symmetry_residual(P)), ("idempotent", idempotence_residual(P)),
                    ("annihilates u", annihilation_residual(P, u)), ("spectrum {0, 1}", spectrum_residual(P))):  # fmt: skip
        m = Measurement(m.residual, m.tolerance * slack, m.scale, m.detail)
        measured.append(require(_PWHO, name, m, P.dtype, case, diagnosis))
    return Measurement.worst(measured)
