r"""Numerical derivatives: forward, central, Richardson and complex step.

For a scalar f of an array x (any array-API namespace),

.. math::

    D^{\rm fwd}_i = \frac{f(x + h_i e_i) - f(x)}{h_i},\qquad
    D^{\rm c}_i(h) = \frac{f(x + h_i e_i) - f(x - h_i e_i)}{2h_i},

    R_i = \frac{4D^{\rm c}_i(h/2) - D^{\rm c}_i(h)}{3},\qquad
    D^{\rm cs}_i = \frac{\operatorname{Im} f(x + \mathrm{i}\,h_i e_i)}{h_i}.

The denominators are the steps actually taken, :math:`\mathrm{fl}(x_i+h_i) -
\mathrm{fl}(x_i-h_i)`, not 2h: this removes the error of representing
:math:`x_i \pm h_i` (Gill, Murray & Wright, Sec. 8.6). With ``h=None`` the
step comes from the error model of :mod:`gc_theory.gradcheck.error_model`, with the
derivative size M estimated numerically; an explicit h (a number, or an array
of x's shape) is used as given, in x's units.

Backends and the host
---------------------
x may belong to any array-API namespace whose arrays support item assignment
(NumPy, CuPy, array_api_strict, PyTorch). Each perturbation is one item
assignment into a private copy of x, restored exactly afterwards, so the
overhead per evaluation is O(1); for that the n perturbed *values* are copied
to the host once. A scalar f's values are read to the host as Python numbers
(see :mod:`gc_theory.gradcheck._evaluate`); the result is returned in x's
namespace and dtype. The complex step needs a complex dtype in x's namespace
(complex128 for float64 x, complex64 for float32): NumPy, CuPy,
array_api_strict and PyTorch have them; f must accept complex input and be
complex-analytic, which is checked on a probe direction.

Every function counts evaluations of f (``full_output=True``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gc_theory.core.validation import check_bool, check_int, check_nonnegative, check_seed
from gc_theory.core.backend import dtype_name, finfo_eps, to_numpy
from ._evaluate import CountedFunction, describe_entry, validate_point
from ._sweep import Sweep, as_f64
from .error_model import METHODS, StepModel, checked_probes, flat_indices, probe_model, resolved_points, scales
from .stencils import complex_step, finite_difference

__all__ = ["DifferenceOptions", "NumericalResult", "complex_dtype", "numerical_gradient", "numerical_jacobian"]

#: Probe coordinates used to estimate the derivative size M.
DEFAULT_PROBES = 4


@dataclass
class NumericalResult:
    """A numerical derivative and what it cost.

    Attributes
    ----------
    value : array
        The gradient (x's shape) or Jacobian (``out_shape + x.shape``), in x's namespace and dtype.
    evaluations : int
        Points at which f was evaluated, step selection and probes included.
    calls : int
        Python calls of f (fewer than `evaluations` with ``vectorized=True``).
    model : StepModel
        The step used and the error model behind it.
    steps : array
        The absolute step of each entry (x's namespace, float64, flat).
    predicted_error : array
        Error bound of each entry at its step (flat, float64, x's namespace).
    f0 : float or None
        f(x), when it was evaluated.
    raw : dict
        The values of f at the perturbed points (flat, float64): ``"plus"``/``"minus"`` for the
        central difference, used by the checker to look at one-sided differences.
    """

    value: Any
    evaluations: int
    calls: int
    model: StepModel
    steps: Any
    predicted_error: Any
    f0: float | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    value_note: str | None = None


def complex_dtype(xp: Any, dtype: Any) -> Any:
    """complex128 for float64, complex64 for float32, in namespace `xp` (TypeError if it has none)."""
    name = "complex128" if "64" in str(dtype) else "complex64"
    if not hasattr(xp, name):
        raise TypeError(f"method='complex' needs a {name} dtype, which namespace {xp.__name__} does not have")
    return getattr(xp, name)


# --- the public functions -------------------------------------------------------------


def check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(repr(m) for m in METHODS)}, got {method!r}")


def _absolute_steps(xp: Any, x: Any, flat: Any, h: Any, model: StepModel | None) -> Any:
    """Flat float64 steps: h*sigma_i from the model, or the caller's h (a number or x-shaped array)."""
    if h is None:
        return model.h * scales(xp, flat)  # type: ignore[union-attr]
    if isinstance(h, bool) or not (isinstance(h, (int, float, np.floating)) or hasattr(h, "shape")):
        raise TypeError(f"h must be None, a positive number or an array shaped like x, got {type(h).__name__}")
    if hasattr(h, "shape"):
        if tuple(h.shape) not in ((), tuple(x.shape)):
            raise ValueError(f"h must be a number or an array of x's shape {tuple(x.shape)}, got shape {tuple(h.shape)}")
        host = to_numpy(h).astype(np.float64).reshape(-1)
    else:
        host = np.asarray([float(h)])
    if not np.all(np.isfinite(host)) or np.any(host <= 0):
        raise ValueError(f"h must be positive and finite, got {h!r}")
    n = math.prod(x.shape)
    return xp.asarray(np.broadcast_to(host, (n,)).copy())


def _check_spacing(xp: Any, flat: Any, steps: Any, shape: tuple[int, ...], signs: tuple[float, ...]) -> tuple[Any, ...]:
    """The perturbed values x_i + s*h_i in x's dtype, by the one spacing rule of :func:`~.steps.resolved_points`."""
    return resolved_points(xp, flat, steps, signs, lambda i: describe_entry(shape, i))


@dataclass(frozen=True)
class DifferenceOptions:
    """How a numerical derivative is taken: the options of :func:`numerical_gradient`, validated on creation."""

    method: str = "central"
    h: Any = None
    vectorized: bool = False
    batch_size: int | None = None
    noise: float | None = None
    probes: Any = DEFAULT_PROBES
    seed: int = 0
    check_analytic: bool = True

    def __post_init__(self) -> None:
        check_method(self.method)
        check_bool(self.vectorized, "vectorized")
        check_bool(self.check_analytic, "check_analytic")
        if self.batch_size is not None:
            check_int(self.batch_size, "batch_size", minimum=1)
        if self.noise is not None:
            object.__setattr__(self, "noise", check_nonnegative(self.noise, "noise"))
        object.__setattr__(self, "seed", check_seed(self.seed))


def _differentiate(f: Callable[[Any], Any], x: Any, options: DifferenceOptions, *, scalar: bool,
                   entries: Any = None) -> NumericalResult:  # fmt: skip
    xp = validate_point(x, "x")
    method, h, noise, seed = options.method, options.h, options.noise, options.seed
    n_all = math.prod(x.shape)
    if entries is not None:
        if not scalar:
            raise ValueError("entries= is supported for scalar f (gradients) only")
        entries = flat_indices(entries, n_all, "entries").tolist()
    sel = None if entries is None else xp.asarray(np.asarray(entries, dtype=np.int64))

    def take(a: Any) -> Any:
        return a if sel is None else xp.take(a, sel, axis=0)

    probes = checked_probes(options.probes, n_all)
    shape = tuple(x.shape)
    fc = CountedFunction(f, shape, scalar=scalar, name="f")
    sweep = Sweep(fc, x, xp, vectorized=options.vectorized, batch_size=options.batch_size)
    flat = sweep.flat
    if method == "complex":
        return _complex_step(f, x, options, real=sweep, scalar=scalar, entries=entries, take=take)
    f0 = None
    model = None
    if h is None:
        model, f0 = probe_model(fc, sweep, method, noise, probes, seed, None)
    steps = _absolute_steps(xp, x, flat, h, model)
    raw: dict[str, Any] = {}
    # Both signs are checked against the spacing of x before f is evaluated at all.
    _check_spacing(xp, flat, steps, shape, (1.0,) if method == "forward" else (1.0, -1.0))

    def at(c: float) -> tuple[Any, Any]:
        nonlocal f0
        if c == 0.0:
            if f0 is None:
                f0 = sweep.single(sweep.base, "x (unperturbed)")
            values = as_f64(xp, np.asarray(float(f0))) if scalar else as_f64(xp, f0)
            return xp.astype(take(flat), xp.float64), values
        (moved,) = _check_spacing(xp, flat, abs(c) * steps, shape, (math.copysign(1.0, c),))
        values = as_f64(xp, sweep.run(moved, f"{'+' if c > 0 else '-'}h{'/2' if abs(c) == 0.5 else ''}", entries))
        coordinate = xp.astype(take(moved), xp.float64)
        if abs(c) == 1.0:
            # The checker's diagnosis reuses the values at x +- h (one-sided differences, shrink-h).
            side = "plus" if c > 0 else "minus"
            raw[side], raw[f"{side}_x"] = values, coordinate
        return coordinate, values

    value = finite_difference(method, at)
    if model is None:
        given = float(xp.max(steps))
        model = StepModel(method, given, math.nan, math.nan if noise is None else noise, math.nan, 0, chosen=False)
        predicted = xp.full((sweep.n,), math.nan, dtype=xp.float64)
    else:
        predicted = model.predicted_error / scales(xp, flat)
    f0_out = float(f0) if (f0 is not None and scalar) else None
    out = _finish(xp, value, x, scalar) if entries is None else xp.astype(value, x.dtype)
    return NumericalResult(out, fc.evaluations, fc.calls, model, take(steps), take(predicted), f0_out, raw,
                           fc.value_note(x.dtype))  # fmt: skip


def _finish(xp: Any, value: Any, x: Any, scalar: bool) -> Any:
    """Flat (n,) or (n, *out) float64 -> x's shape, or out_shape + x.shape, in the result dtype."""
    n = math.prod(x.shape)
    if scalar:
        return xp.astype(xp.reshape(value, tuple(x.shape)), x.dtype)
    out_shape = tuple(value.shape[1:])
    moved = xp.permute_dims(xp.reshape(value, (n, math.prod(out_shape))), (1, 0))
    return xp.astype(xp.reshape(moved, out_shape + tuple(x.shape)), x.dtype)


def _complex_step(f: Callable[[Any], Any], x: Any, options: DifferenceOptions, *, real: Sweep, scalar: bool,
                  entries: list[int] | None, take: Callable[[Any], Any]) -> NumericalResult:  # fmt: skip
    xp, fc, h = real.xp, real.fc, options.h
    ctype = complex_dtype(xp, x.dtype)
    eps = finfo_eps(x.dtype)
    flat = xp.reshape(x, (-1,))
    if h is None:
        steps = eps**2 * scales(xp, flat)
        model = StepModel("complex", eps**2, math.nan, math.nan, math.nan, 0)
    else:
        steps = _absolute_steps(xp, x, flat, h, None)
        model = StepModel("complex", float(xp.max(steps)), math.nan, math.nan, math.nan, 0, chosen=False)
    cfc = CountedFunction(f, tuple(x.shape), scalar=scalar, complex_values=True, name="f")
    sweep = Sweep(cfc, x, xp, vectorized=options.vectorized, batch_size=options.batch_size, dtype=ctype)
    if options.check_analytic:
        _check_analytic(real.single, sweep.single, x, xp, ctype, options.seed, scalar)
    tiny = float(np.finfo(dtype_name(x.dtype)).tiny)
    if bool(xp.any(xp.astype(steps, x.dtype) < tiny)):
        raise ValueError(f"h is too small for the complex step in {x.dtype}: it underflows (h < {tiny:.3g})")
    replaced = xp.astype(flat, ctype) + xp.astype(steps, ctype) * xp.asarray(1j, dtype=ctype)
    try:
        values = sweep.run(replaced, "+ih", entries)
    except TypeError as exc:
        raise ValueError(f"method='complex' needs f to accept complex input, but it raised {type(exc).__name__}: {exc}") from exc
    values = as_f64(xp, values)
    steps = take(steps)
    h_exact = xp.astype(xp.astype(steps, x.dtype), xp.float64)
    value = complex_step(values, h_exact)
    total = fc.evaluations + cfc.evaluations
    # No subtraction of f values, but the derivative is still computed in floating point inside f:
    # its rounding is normwise, eps times the largest entry, not eps times each (small) entry.
    if scalar:
        predicted = eps * (xp.abs(value) + xp.max(xp.abs(value)))
    else:
        predicted = xp.full((math.prod(x.shape),), math.nan, dtype=xp.float64)
    out = _finish(xp, value, x, scalar) if entries is None else xp.astype(value, x.dtype)
    return NumericalResult(out, total, fc.calls + cfc.calls, model, steps, predicted, None)


def _check_analytic(real, cplx, x, xp, ctype, seed, scalar) -> None:  # noqa: ANN001
    r"""Compare the complex step with central differences along one random direction.

    The central estimate D(s) at :math:`s = \epsilon^{1/3}` is accurate to
    :math:`|D(2s) - D(s)|/3 + \epsilon_f/s` (truncation estimated by the two
    steps, rounding by the model); a complex step further than 10 times that
    from it means f is not complex-analytic.
    """
    eps = finfo_eps(x.dtype)
    rng = np.random.default_rng(seed + 7919)
    flat_host = to_numpy(xp.reshape(x, (-1,))).astype(np.float64)
    u = rng.choice([-1.0, 1.0], size=flat_host.size) * np.maximum(np.abs(flat_host), 1.0)
    s = eps ** (1.0 / 3.0)
    shape = tuple(x.shape)

    def at(t: float) -> Any:
        return xp.reshape(xp.asarray((flat_host + t * u).astype(to_numpy(x).dtype)), shape)

    vals = {t: real(at(t * s), f"x + {t:+g}*s*u (complex-analyticity probe)") for t in (-2.0, -1.0, 1.0, 2.0)}
    vals = {t: to_numpy(v).astype(np.float64) if not scalar else float(v) for t, v in vals.items()}
    d1 = (np.asarray(vals[1.0]) - np.asarray(vals[-1.0])) / (2 * s)
    d2 = (np.asarray(vals[2.0]) - np.asarray(vals[-2.0])) / (4 * s)
    magnitude = max(float(np.max(np.abs(np.asarray(v)))) for v in vals.values())
    t_cs = eps**2
    z = xp.reshape(xp.asarray(flat_host.astype(np.complex128) + 1j * t_cs * u, dtype=ctype), shape)
    try:
        cv = cplx(z, "x + i*t*u (complex-analyticity probe)")
    except TypeError as exc:
        raise ValueError(f"method='complex' needs f to accept complex input, but it raised {type(exc).__name__}: {exc}") from exc
    cs = np.imag(np.asarray(cv if scalar else to_numpy(cv), dtype=np.complex128)) / t_cs
    allowed = 10.0 * (np.abs(d2 - d1) / 3.0 + eps * max(magnitude, 1e-300) / s + eps * np.abs(cs))
    gap = np.abs(cs - d1)
    if np.any(gap > allowed):
        worst = float(np.max(gap))
        raise ValueError(
            "f is not complex-analytic, so method='complex' would be wrong: along a probe direction the complex "
            f"step gives {float(np.max(np.abs(cs))):.6g} but central differences give {float(np.max(np.abs(d1))):.6g} "
            f"(gap {worst:.3g}, error model allows {float(np.max(allowed)):.3g}); f may use abs, max, comparisons, "
            "real/imag or conj. Use method='central' or 'richardson'"
        )


def numerical_gradient(f: Callable[[Any], Any], x: Any, method: str = "central", h: Any = None,
                       vectorized: bool = False, *, batch_size: int | None = None, noise: float | None = None,
                       probes: int = DEFAULT_PROBES, seed: int = 0, check_analytic: bool = True,
                       full_output: bool = False, entries: Any = None) -> Any:  # fmt: skip
    r"""The gradient of a scalar function by finite differences or the complex step.

    Parameters
    ----------
    f : callable
        ``f(x) -> scalar`` (a 0-d array or Python number). With ``vectorized=True``,
        ``f(X)`` for X of shape ``(B, *x.shape)`` must return shape ``(B,)``.
    x : array
        The point: a real floating array of any array-API namespace (finite, non-empty).
    method : {'central', 'forward', 'richardson', 'complex'}
        Central difference (O(h^2), 2n evaluations), forward (O(h), n + 1),
        Richardson extrapolation of the central difference (O(h^4), 4n) or
        complex step (no cancellation, n; f must be complex-analytic).
    h : None, float or array
        None: the error-model step, scaled by ``max(|x_i|, 1)``, with the
        derivative size M estimated by a stencil on `probes` coordinates. A
        number or an x-shaped array: the absolute step, used as given.
    vectorized : bool
        Send the perturbed points through f in batches along a new leading
        axis (a few calls instead of 2n): for cheap f, where Python's per-call
        overhead dominates.
    batch_size : int, optional
        Points per batched call (default: about 4M elements of x per call).
    noise : float, optional
        The absolute rounding level :math:`\epsilon_f` of f's values, when
        known to be larger than ``eps*|f(x)|`` (e.g. f sums many terms).
    probes : int or sequence of int
        How many coordinates (chosen at random) are used to estimate M, or
        which ones (flat indices).
    seed : int
        Seeds the choice of probe coordinates and the analyticity probe.
    check_analytic : bool
        For the complex step: first compare it with central differences along
        one random direction (5 evaluations) and raise if f is not analytic.
    full_output : bool
        Return a :class:`NumericalResult` (value, evaluations, step model,
        predicted error per entry) instead of the bare gradient.
    entries : sequence of int, optional
        Differentiate only these flat indices (C order): the result is then a
        1-d array of their partial derivatives, at 2 evaluations each (central).

    Returns
    -------
    array or NumericalResult
        The gradient, shaped and typed like x, in x's namespace (1-d with `entries`).

    Raises
    ------
    TypeError
        x is not a real floating array (integer x, say); f is not callable.
    ValueError
        Unknown method; f returns a non-scalar; f returns NaN/Inf (the message
        names the entry and the perturbation); h is not positive or is below
        the spacing of x (x + h == x); f is not complex-analytic for
        method='complex'.

    Notes
    -----
    The error model and the step are in :mod:`gc_theory.gradcheck.error_model`:
    for the central difference :math:`E(h) = M_3h^2/6 + \epsilon_f/h`, minimised
    by :math:`h^* = (3\epsilon_f/M_3)^{1/3}`.

    References
    ----------
    .. [1] CS231n notes, "Gradient checks"; Gill, Murray & Wright, *Practical
       Optimization*, Sec. 8.6; Squire & Trapp, SIAM Review 40 (1998) (complex step).
    """
    options = DifferenceOptions(method, h, vectorized, batch_size, noise, probes, seed, check_analytic)
    result = _differentiate(f, x, options, scalar=True, entries=entries)
    return result if full_output else result.value


def numerical_jacobian(f: Callable[[Any], Any], x: Any, method: str = "central", h: Any = None,
                       vectorized: bool = False, *, batch_size: int | None = None, noise: float | None = None,
                       probes: int = DEFAULT_PROBES, seed: int = 0, check_analytic: bool = True,
                       full_output: bool = False) -> Any:  # fmt: skip
    r"""The Jacobian :math:`J_{..., j} = \partial f_{...}/\partial x_j` of an array-valued f.

    Same parameters and methods as :func:`numerical_gradient`; f returns an
    array (of a fixed shape ``out_shape``) of the same namespace, and with
    ``vectorized=True`` shape ``(B, *out_shape)``. The result has shape
    ``out_shape + x.shape``. f's values stay in their namespace. The error
    model uses :math:`\epsilon_f = \epsilon\max|f|` and the largest derivative
    over all outputs.
    """
    options = DifferenceOptions(method, h, vectorized, batch_size, noise, probes, seed, check_analytic)
    result = _differentiate(f, x, options, scalar=False)
    return result if full_output else result.value
