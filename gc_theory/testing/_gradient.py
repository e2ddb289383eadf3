r"""Assertions for a user's gradient and Hessian-vector product, through the toolkit's checkers.

:func:`assert_gradient` runs :func:`gc_theory.gradcheck.check_gradient`
(error-model step, per-entry diagnosis at h/10, kink detection) on an array
or on a dict of parameters flattened with
:func:`gc_theory.gradcheck.ravel_params`, and names the failing entries by
parameter; :func:`assert_hvp` runs :func:`gc_theory.gradcheck.check_hvp`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from gc_theory.core.backend import array_namespace, is_array, to_numpy
from gc_theory.core.validation import check_bool, check_callable, check_seed
from gc_theory.gradcheck import check_gradient, check_hvp, ravel_params
from gc_theory.gradcheck.check import DEFAULT_SAFETY
from gc_theory.verify.measurement import Measurement

from ._common import call, check_result, check_slack

__all__ = ["assert_gradient", "assert_hvp"]

_WHO = "assert_gradient"


def _check_scalar(who: str, value: Any, case: str) -> None:
    try:
        number = float(value)
    except Exception as exc:  # an array of several entries, or not a number at all
        raise AssertionError(f"{who}: f returned {type(value).__name__} {getattr(value, 'shape', '')}, not a scalar\n"
                             f"  case: {case}") from exc  # fmt: skip
    if not math.isfinite(number):
        raise AssertionError(f"{who}: f returned {number} at the given point\n  case: {case}")


def _flatten(f: Callable[[Any], Any], grad: Callable[[Any], Any], params: Mapping[str, Any]):
    """f and grad of one flat vector, the vector, and names for its entries."""
    for k, v in params.items():
        if not isinstance(k, str) or not is_array(v):
            raise TypeError(f"params must map str names to arrays, got {k!r}: {type(v).__name__}")
    x, unravel = ravel_params(dict(params))
    shapes = {k: tuple(v.shape) for k, v in params.items()}

    def grad_flat(v: Any) -> Any:
        out = grad(unravel(v))
        if not isinstance(out, Mapping) or set(out) != set(params):
            got = sorted(out) if isinstance(out, Mapping) else type(out).__name__
            raise AssertionError(f"{_WHO}: grad returned {got}, expected a dict with the keys {sorted(params)}")
        for k in params:
            check_result(_WHO, f"grad(params)[{k!r}]", out[k], params[k], f"parameter {k!r} of shape {shapes[k]}")
        return ravel_params({k: out[k] for k in params})[0]

    offsets = np.cumsum([0] + [math.prod(s) for s in shapes.values()]).tolist()

    def name(i: int) -> str:
        for j, (k, s) in enumerate(shapes.items()):
            if offsets[j] <= i < offsets[j + 1]:
                return f"{k}{[int(q) for q in np.unravel_index(i - offsets[j], s)] if s else ''}"
        return str(i)

    return (lambda v: f(unravel(v))), grad_flat, x, name, shapes, offsets


def _block_diagnoses(report: Any, shapes: Mapping[str, tuple[int, ...]], offsets: list[int]) -> list[str]:
    """Per parameter with failing entries: transposed, or off by one factor (2, -1, ...)."""
    out = []
    a, n, failed = report.analytic, report.numerical, report.failed
    for j, (k, s) in enumerate(shapes.items()):
        block = slice(offsets[j], offsets[j + 1])
        if not np.any(failed[block]):
            continue
        ab, nb = a[block], n[block]
        scale = max(float(np.max(np.abs(nb))), 1e-300)
        loose = 1e-4 * scale
        if len(s) == 2 and s[0] == s[1] and np.max(np.abs(ab.reshape(s).T - nb.reshape(s))) <= loose:
            out.append(f"the gradient of {k!r} is transposed")
            continue
        big = np.abs(nb) > 1e-3 * scale
        if np.any(big):
            c = float(np.median(ab[big] / nb[big]))
            if abs(c - 1.0) > 1e-3 and np.max(np.abs(ab - c * nb)) <= 1e-3 * abs(c) * scale:
                out.append(f"the gradient of {k!r} is off by a factor {c:.4g} (every entry)")
                continue
        count = int(np.count_nonzero(failed[block]))
        out.append(f"{count} of {ab.size} entries of {k!r} disagree")
    return out


def assert_gradient(f: Callable[[Any], Any], grad: Callable[[Any], Any], params: Any, *, method: str = "central",
                    allow_inconclusive: bool = False, slack: float = 1.0, seed: int = 0,
                    entries: Any = None) -> Measurement:  # fmt: skip
    r"""Assert that `grad` is the gradient of `f` at `params`, entry by entry, against finite differences.

    Parameters
    ----------
    f : callable
        The scalar loss: ``f(params) -> float`` (or a 0-d array).
    grad : callable
        ``grad(params)``: an array of params' shape, or a dict with params' keys.
    params : array or dict of str to array
        The point: one real floating array, or a model's parameters by name
        (flattened in dict order with :func:`gc_theory.gradcheck.ravel_params`).
    method : {"central", "richardson", "forward", "complex"}
        The finite difference (:func:`gc_theory.gradcheck.check_gradient`).
    allow_inconclusive : bool, default False
        An inconclusive check (the step cannot see an error of the size that
        matters, e.g. f is too flat or float32 resolves too little) fails
        unless this is True.
    slack : float, default 1
        Multiplies the checker's safety factor (10) of the error model.
    seed : int
        Seeds the error model's probes.
    entries : sequence of int, optional
        Check only these flat indices.

    Returns
    -------
    Measurement
        ``residual``: the worst entry's error over its tolerance; ``tolerance`` 1
        (infinite for an inconclusive check accepted with `allow_inconclusive`,
        whose ``detail`` says why it was inconclusive).

    Raises
    ------
    AssertionError
        An entry fails (the message names it as ``name[i, j]``, with the
        analytic and numerical values, the checker's diagnosis, and per
        parameter whether its block is transposed or off by a factor), f or
        grad returned something wrong, or the check is inconclusive.
    TypeError, ValueError
        params of the wrong kind.

    Notes
    -----
    The tolerance of each entry is the checker's error model: truncation
    :math:`Mh^2` plus rounding :math:`\epsilon |f|/h` at the chosen step,
    times the safety factor 10 (``slack`` multiplies it). It assumes f is
    evaluated to within a few eps of |f|: a loss summed over many terms in
    float32 may need `slack`.

    Examples
    --------
    >>> import numpy as np
    >>> from gc_theory.testing import assert_gradient
    >>> X = np.arange(6.0).reshape(3, 2) / 6
    >>> f = lambda p: float(np.sum((X @ p["W"] + p["b"]) ** 2))
    >>> grad = lambda p: {"W": 2 * X.T @ (X @ p["W"] + p["b"]), "b": 2 * np.sum(X @ p["W"] + p["b"], axis=0)}
    >>> params = {"W": np.array([[1.0, -1.0], [0.5, 2.0]]), "b": np.array([0.1, -0.2])}
    >>> assert_gradient(f, grad, params).passed
    True
    >>> bad = lambda p: {"W": grad(p)["W"].T, "b": grad(p)["b"]}
    >>> assert_gradient(f, bad, params)
    Traceback (most recent call last):
    ...
    AssertionError: assert_gradient: 2 of 6 entries fail
    ...
    """
    f, grad = check_callable(f, "f"), check_callable(grad, "grad")
    allow_inconclusive, slack, seed = check_bool(allow_inconclusive, "allow_inconclusive"), check_slack(slack), check_seed(seed)
    if isinstance(params, Mapping):
        if not params:
            raise ValueError("params is an empty dict: nothing to check")
        f_flat, grad_flat, x, name, shapes, offsets = _flatten(f, grad, params)
        _check_scalar(_WHO, call(_WHO, f, "f(params)", params), "f(params)")
        call(_WHO, grad_flat, "grad(params)", x)
    elif is_array(params):
        x, f_flat, shapes, offsets = params, f, {"params": tuple(params.shape)}, [0, math.prod(params.shape)]

        def name(i: int) -> str:
            return f"params{[int(q) for q in np.unravel_index(i, tuple(params.shape))]}" if params.ndim else "params"

        _check_scalar(_WHO, call(_WHO, f, "f(params)", params), "f(params)")
        out = call(_WHO, grad, "grad(params)", params)
        check_result(_WHO, "grad(params)", out, params, "grad(params)")
        grad_flat = grad
    else:
        raise TypeError(f"params must be an array or a dict of arrays, got {type(params).__name__}")
    try:
        report = check_gradient(f_flat, grad_flat, x, method=method, safety=DEFAULT_SAFETY * slack, seed=seed,
                                warn_float32=False, entries=entries)  # fmt: skip
    except AssertionError:
        raise
    except (TypeError, ValueError) as exc:
        # Arguments were checked above, so what check_gradient refuses here came from f or grad.
        raise AssertionError(f"{_WHO}: the implementation's output was refused: {exc}") from exc
    ratios = report.relative_error / report.tolerance
    residual = float(np.nanmax(np.where(np.isfinite(report.tolerance), ratios, 0.0), initial=0.0))
    m = Measurement(residual, 1.0, None, report.verdict)
    if report.passed:
        return m
    dtype = str(getattr(x, "dtype", ""))
    if report.inconclusive:
        if allow_inconclusive:
            # Accepted on the caller's word: no bound was tested, so the tolerance is infinite and says so.
            return Measurement(residual, math.inf, None, report.verdict)
        raise AssertionError(f"{_WHO}: inconclusive ({dtype}): no entry failed, but the check could not have seen an "
                             f"error of the size that matters, so it does not count as passed\n  why: {report.verdict}\n"
                             + "".join(f"  note: {t}\n" for t in report.notes)
                             + "  pass allow_inconclusive=True to accept it, or check in float64")  # fmt: skip
    failed = np.flatnonzero(report.failed)
    lines = [f"{_WHO}: {failed.size} of {report.analytic.size} entries fail",
             f"  worst entry error/tolerance {residual:.3g}, allowed 1 (error model, safety {DEFAULT_SAFETY * slack:g}), "
             f"{dtype}",
             f"  {'entry':<24}{'analytic':>13}{'numerical':>13}{'rel. error':>12}{'tolerance':>11}"]  # fmt: skip
    position = {int(e): p for p, e in enumerate(report.entries.tolist())}
    for i in report.worst[:6].tolist():
        p = position[i]
        if not report.failed[p]:
            break
        d = report.diagnoses.get(i)
        lines.append(f"  {name(i):<24}{report.analytic[p]:>13.6g}{report.numerical[p]:>13.6g}"
                     f"{report.relative_error[p]:>12.3g}{report.tolerance[p]:>11.3g}" + (f"  {d.explain()}" if d else ""))  # fmt: skip
    if entries is None:
        lines += [f"  diagnosis: {t}" for t in _block_diagnoses(report, shapes, offsets)]
    lines.append(f"  checker: {report.verdict}")
    raise AssertionError("\n".join(lines))


_HWHO = "assert_hvp"


def assert_hvp(grad: Callable[[Any], Any], hvp: Callable[[Any, Any], Any], x: Any, *, v: Any = None,
               slack: float = 1.0, seed: int = 0) -> Measurement:  # fmt: skip
    r"""Assert that ``hvp(x, v)`` is the Hessian-vector product of the gradient `grad`, against its differences.

    Parameters
    ----------
    grad : callable
        ``grad(x)`` -> gradient of x's shape (trusted: check it with
        :func:`assert_gradient` first).
    hvp : callable
        ``hvp(x, v)`` -> :math:`\nabla^2 f(x) v`, x's shape: the implementation under test.
    x : array
        The point, real floating.
    v : array, optional
        The direction (default: random signs times max(|x_i|, 1)).
    slack : float, default 1
        Multiplies the checker's safety factor.
    seed : int
        Seeds the default direction.

    Returns
    -------
    Measurement
        ``residual``: the worst entry's gap over its tolerance; ``tolerance`` 1.

    Raises
    ------
    AssertionError
        The product disagrees (entries, values, and whether it is the
        gradient, the negative or a multiple of H v), or hvp misbehaves.
    TypeError, ValueError
        A bad x or v.

    Notes
    -----
    :func:`gc_theory.gradcheck.check_hvp` compares with the central
    difference :math:`(\nabla f(x + hv) - \nabla f(x - hv))/2h` at the relative
    step :math:`\epsilon^{1/3}`, whose error is :math:`O(h^2)` truncation plus
    :math:`O(\epsilon/h)` rounding of the gradient; the tolerance is that bound
    times the safety factor 10 (``slack`` multiplies it).

    Examples
    --------
    >>> import numpy as np
    >>> from gc_theory.testing import assert_hvp
    >>> A = np.array([[3.0, 1.0], [1.0, 2.0]])
    >>> assert_hvp(lambda x: A @ x + x**3, lambda x, v: A @ v + 3 * x**2 * v, np.array([0.5, -1.0])).passed
    True
    """
    grad, hvp = check_callable(grad, "grad"), check_callable(hvp, "hvp")
    slack, seed = check_slack(slack), check_seed(seed)
    if not is_array(x):
        raise TypeError(f"x must be an array, got {type(x).__name__}")
    probe = x if v is None else v
    out = call(_HWHO, hvp, "hvp(x, v)", x, probe)
    check_result(_HWHO, "hvp(x, v)", out, x, "hvp(x, v)")
    try:
        report = check_hvp(grad, hvp, x, v, safety=DEFAULT_SAFETY * slack, seed=seed)
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"{_HWHO}: the implementation's output was refused: {exc}") from exc
    gap = np.abs(report.analytic - report.numerical)
    ratio = float(np.max(gap / np.maximum(report.tolerance, 1e-300), initial=0.0))
    m = Measurement(ratio, 1.0, None, report.verdict)
    if report.passed:
        return m
    a, n = report.analytic, report.numerical
    scale = max(float(np.max(np.abs(n))), 1e-300)
    diagnosis = None
    g = to_numpy(grad(x)).ravel().astype(np.float64)
    if np.max(np.abs(a - g)) <= 1e-6 * max(scale, float(np.max(np.abs(g)))):
        diagnosis = "hvp returns the gradient, not the Hessian times v"
    else:
        big = np.abs(n) > 1e-3 * scale
        if np.any(big):
            c = float(np.median(a[big] / n[big]))
            if abs(c - 1) > 1e-3 and np.max(np.abs(a - c * n)) <= 1e-3 * abs(c) * scale:
                diagnosis = f"hvp is {c:.4g} times H v (every entry)"
    lines = [f"{_HWHO}: Hessian-vector product disagrees with differences of grad",
             f"  worst gap/tolerance {ratio:.3g}, allowed 1 ({array_namespace(x).__name__}, {x.dtype})"]
    for i in report.worst[:5].tolist():
        lines.append(f"  entry {i}: hvp {a[i]:.6g}, difference of grad {n[i]:.6g}, tolerance {report.tolerance[i]:.3g}")
    if diagnosis:
        lines.append(f"  diagnosis: {diagnosis}")
    raise AssertionError("\n".join(lines))
