r"""An assertion for a user's modified loss of implicit gradient regularisation, against the slope the theory predicts.

Gradient descent with step h follows, to one order more than the plain
gradient flow, the flow of the modified loss :math:`L + (h/4)\|\nabla L\|^2`
(backward error analysis; :mod:`gc_theory.igr`). :func:`assert_modified_loss`
measures that order on a ladder of steps with the toolkit's own ladder and
fit (:func:`gc_theory.igr.ladders.one_step_errors`,
:func:`gc_theory.verify.order_fit.fit_order`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gc_theory.core.backend import is_array, to_numpy
from gc_theory.core.validation import check_callable, check_int, check_positive
from gc_theory.igr.ladders import one_step_errors
from gc_theory.verify.measurement import Measurement
from gc_theory.verify.order_fit import fit_order, geometric_ladder

from ._common import call, check_slack, host, namespace

__all__ = ["assert_modified_loss"]

_WHO = "assert_modified_loss"
#: h_max * lambda_max on the ladder, as in the IGR claims: well inside the region where the series converges.
_H_LAMBDA = 0.2


def _host_fn(fn: Callable[..., Any], xp: Any, what: str, shape: tuple[int, ...]) -> Callable[..., np.ndarray]:
    """`fn` called on xp arrays of float64, its result checked and returned as a host float64 vector."""

    def wrapped(theta: np.ndarray, *rest: Any) -> np.ndarray:
        out = call(_WHO, fn, f"{what} at theta = {np.array2string(theta, precision=4)}", host(xp, theta, "float64"), *rest)
        if not is_array(out) or tuple(out.shape) != shape:
            got = tuple(out.shape) if is_array(out) else type(out).__name__
            raise AssertionError(f"{_WHO}: {what} returned {got}, expected an array of shape {shape}")
        values = to_numpy(out).astype(np.float64)
        if not np.all(np.isfinite(values)):
            raise AssertionError(f"{_WHO}: {what} returned NaN or Inf at theta = {theta}")
        return values

    return wrapped


def _lambda_max(grad: Callable[[np.ndarray], np.ndarray], theta: np.ndarray, iterations: int = 50) -> float:
    """|largest Hessian eigenvalue| by power iteration on central differences of grad (enough to size the ladder)."""
    v = np.random.default_rng(0).standard_normal(theta.size)
    lam = 0.0
    for _ in range(iterations):
        v = v / np.linalg.norm(v)
        eps = 1e-5 * max(1.0, float(np.max(np.abs(theta))))
        hv = (grad(theta + eps * v) - grad(theta - eps * v)) / (2 * eps)
        lam = float(np.linalg.norm(hv))
        if lam == 0.0:
            break
        v = hv
    return lam


def _coefficient(modified: Callable[..., np.ndarray], grad: Callable[[np.ndarray], np.ndarray], theta: np.ndarray,
                 h: float) -> str:  # fmt: skip
    """What the user's correction is, as a multiple c of h H grad L (the theory's c is 1/2)."""
    g = grad(theta)
    eps = 1e-5 * max(1.0, float(np.max(np.abs(theta)))) / max(float(np.linalg.norm(g)), 1e-300)
    Hg = (grad(theta + eps * g) - grad(theta - eps * g)) / (2 * eps)
    corr = (modified(theta, h) - g) / h
    if float(Hg @ Hg) == 0.0:
        return "H grad L vanishes at theta: choose another start"
    c = float(corr @ Hg) / float(Hg @ Hg)
    off = float(np.linalg.norm(corr - c * Hg)) / max(float(np.linalg.norm(Hg)), 1e-300)
    text = f"your field's correction is {c:.4g} h H grad L"
    if off > 1e-3 * max(abs(c), 1.0):
        text += f" plus a part {off:.3g} (relative) not along H grad L"
    text += "; the first-order modified loss L + (h/4)||grad L||^2 has gradient grad L + (h/2) H grad L (c = 0.5)"
    if abs(c) < 1e-3:
        text += ": the correction is missing (the plain gradient)"
    elif abs(c - 1.0) < 1e-2:
        text += ": did you use (h/2)||grad L||^2 in place of (h/4)?"
    elif abs(c - 0.25) < 1e-2:
        text += ": did you take the gradient of (h/4)||grad L||^2 as (h/4) H grad L (it is (h/2) H grad L)?"
    elif abs(c + 0.5) < 1e-2:
        text += ": the sign is flipped (GD is regularised, not anti-regularised)"
    return text


def assert_modified_loss(modified_grad: Callable[[Any, float], Any], grad: Callable[[Any], Any], theta0: Any, *,
                         lambda_max: float | None = None, rungs: int = 6, xp: Any = None,
                         slack: float = 1.0) -> Measurement:  # fmt: skip
    r"""Assert that one GD step follows the flow of the user's modified gradient to third order in h.

    For each step h of a geometric ladder it measures the distance between one
    gradient-descent step :math:`\theta_0 - h\nabla L(\theta_0)` and the flow of
    :math:`-\texttt{modified\_grad}(\cdot, h)` over time h (RK4 with 32
    substeps), fits the order of that local error, and holds it to 3, the order
    of the first-order modified loss :math:`\tilde L_h = L + (h/4)\|\nabla L\|^2`
    (the plain flow gives 2).

    Parameters
    ----------
    modified_grad : callable
        ``modified_grad(theta, h)``: the gradient of your modified loss at
        theta for step h (the field is its negative).
    grad : callable
        ``grad(theta)``: the gradient of the base loss L (trusted: check it with
        :func:`assert_gradient` first).
    theta0 : array, 1-d
        Where the step starts; a point where :math:`H\nabla L \ne 0`.
    lambda_max : float, optional
        The largest Hessian eigenvalue near theta0; default estimated by power
        iteration on differences of `grad`. The ladder starts at
        :math:`h_{\max} = 0.2/\lambda_{\max}` and halves `rungs` - 1 times.
    rungs : int, default 6
    xp : module, optional
        The namespace of your functions (``torch``...); default NumPy. Computed in float64.
    slack : float, default 1
        Multiplies the fit's tolerance.

    Returns
    -------
    Measurement
        ``residual`` :math:`|\hat p - 3|`, ``tolerance`` the fit's.

    Raises
    ------
    AssertionError
        The order is not 3: the message gives the fitted order and the slopes,
        and what your correction is as a multiple c of :math:`h H\nabla L`
        (the theory's c is 1/2; c = 1 is the coefficient h/2 in place of h/4,
        c = 0 a missing correction). Also when the errors reach rounding (the
        check is inconclusive) or a function returns a wrong shape or NaN.
    TypeError, ValueError
        A bad argument of the assertion itself.

    Notes
    -----
    Backward error analysis (Barrett & Dherin, ICLR 2021, Sec. 3; Hairer,
    Lubich & Wanner, Ch. IX) gives one GD step as the time-h flow of
    :math:`-\nabla\tilde L_h` up to :math:`O(h^3)`, against :math:`O(h^2)`
    for the plain gradient flow. The tolerance is that of
    :func:`gc_theory.verify.order_fit.fit_order`: derived from the drift of
    the last slopes of the ladder and from the rounding floor of each error
    (:func:`gc_theory.igr.ladders.one_step_errors`), which the fit refuses to
    come within 100x of. A field of a higher-order modified loss (with the
    :math:`h^2` term) has local error order 4 and fails with a fitted order
    near 4: the assertion checks the first-order statement.

    Examples
    --------
    >>> import numpy as np
    >>> from gc_theory.testing import assert_modified_loss
    >>> grad = lambda t: t**3 + t                          # L = sum(t^4/4 + t^2/2)
    >>> hvp = lambda t, v: (3 * t**2 + 1) * v
    >>> mine = lambda t, h: grad(t) + (h / 2) * hvp(t, grad(t))
    >>> assert_modified_loss(mine, grad, np.array([0.8, -0.5])).passed
    True
    >>> assert_modified_loss(lambda t, h: grad(t) + h * hvp(t, grad(t)), grad, np.array([0.8, -0.5]))
    Traceback (most recent call last):
    ...
    AssertionError: assert_modified_loss: the local error of GD against your flow has order ..., not 3
    ...
    """
    modified_grad, grad = check_callable(modified_grad, "modified_grad"), check_callable(grad, "grad")
    rungs, slack, xp = check_int(rungs, "rungs", minimum=3), check_slack(slack), namespace(xp)
    if not is_array(theta0):
        raise TypeError(f"theta0 must be an array, got {type(theta0).__name__}")
    theta = to_numpy(theta0).astype(np.float64)
    if theta.ndim != 1 or theta.size == 0:
        raise ValueError(f"theta0 must be a nonempty 1-d array, got shape {theta.shape}")
    if not np.all(np.isfinite(theta)):
        raise ValueError("theta0 has NaN or Inf")
    shape = theta.shape
    g_host = _host_fn(grad, xp, "grad(theta)", shape)
    m_host = _host_fn(modified_grad, xp, "modified_grad(theta, h)", shape)
    lam = _lambda_max(g_host, theta) if lambda_max is None else check_positive(lambda_max, "lambda_max")
    if lam == 0.0:
        raise ValueError("the Hessian vanishes at theta0 (lambda_max = 0): choose a start where L is curved")
    steps = geometric_ladder(_H_LAMBDA / lam, rungs)
    errors, floors = one_step_errors(lambda t, h: t - h * g_host(t), lambda h: (lambda t: -m_host(t, h)), theta, steps)
    try:
        fit = fit_order(steps, errors, rounding_floor=floors)
    except ValueError as exc:
        raise AssertionError(f"{_WHO}: inconclusive: {exc}\n  errors on h = {steps[0]:.3g} / 2^k: "
                             + ", ".join(f"{e:.3g}" for e in errors)) from exc  # fmt: skip
    m = fit.measure(3.0, "one GD step against the flow of -modified_grad")
    m = Measurement(m.residual, m.tolerance * slack, None, m.detail)
    if m.passed:
        return m
    slopes = ", ".join(f"{s:.3f}" for s in fit.slopes)
    raise AssertionError(f"{_WHO}: the local error of GD against your flow has order {fit.order:.4g}, not 3\n"
                         f"  measured |order - 3| = {m.residual:.3g}, allowed {m.tolerance:.3g} (fit of the ladder)\n"
                         f"  slopes [{slopes}] on h = {steps[0]:.3g} / 2^0..{rungs - 1}, lambda_max ~ {lam:.3g}\n"
                         f"  diagnosis: {_coefficient(m_host, g_host, theta, float(steps[-1]))}")  # fmt: skip
