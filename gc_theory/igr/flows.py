r"""Exact flows of vector fields, and the discrete methods they are compared with (NumPy/SciPy, host only).

:func:`flow` integrates with SciPy's DOP853 and estimates its own error by
solving again at a tighter tolerance, so that claims built on it can derive
their tolerances. :func:`rk4` is a fixed-step reference for one-step errors.
:func:`gradient_descent`, :func:`momentum_descent` and :func:`adam_descent` are the iterations whose
modified equations :mod:`gc_theory.igr.fields` states.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gc_theory.core.validation import (check_callable, check_choice, check_int, check_nonnegative, check_positive,
                           check_unit_interval)
from ._checks import as_theta, check_problem, check_step

__all__ = ["FlowError", "FlowResult", "adam_descent", "flow", "gradient_descent", "momentum_descent", "rk4",
           "sampled_flow"]

_EPS = float(np.finfo(np.float64).eps)
#: DOP853 refuses rtol below 100 eps; the error estimate re-solves at this factor tighter (or at that limit).
_TIGHTER = 10.0


class FlowError(ArithmeticError):
    """The flow left the finite numbers (or the solver failed) before the final time."""


@dataclass(frozen=True)
class FlowResult:
    """theta(T), and the estimated max-norm error of it.

    Attributes
    ----------
    theta : numpy.ndarray
        The state at time T.
    error : float
        :math:`\\|\\theta_{rtol} - \\theta_{tight}\\|_\\infty`, with the second solve at
        ``rtol/10`` (at least 100 eps): an estimate of the first solve's error,
        valid when the tighter solve is several times more accurate.
    nfev : int
        Field evaluations of both solves.
    """

    theta: np.ndarray
    error: float
    nfev: int


def _solve(field: Callable[[np.ndarray], np.ndarray], theta0: np.ndarray, t: float, rtol: float, atol: float) -> Any:
    from scipy.integrate import solve_ivp

    with np.errstate(over="ignore", invalid="ignore"):
        sol = solve_ivp(lambda _t, y: field(y), (0.0, t), theta0, method="DOP853", rtol=rtol, atol=atol)
    end = sol.y[:, -1]
    if sol.status != 0 or not np.all(np.isfinite(end)):
        stop = float(sol.t[-1])
        why = sol.message if sol.status != 0 else "the state became non-finite"
        raise FlowError(f"flow stopped at t={stop:.6g} of T={t:g}: {why} (the field blows up; check theta0 and T)")
    return sol


def flow(field: Callable[[np.ndarray], np.ndarray], theta0: Any, T: float, *, rtol: float = 1e-13,
         atol: float = 1e-15) -> FlowResult:
    r"""The exact flow :math:`\theta' = \mathrm{field}(\theta)` at time T, with an estimate of its error.

    Parameters
    ----------
    field : callable
        ``field(theta) -> theta'`` on 1-d float64 arrays (:func:`~gc_theory.igr.modified_field`).
    theta0 : array_like
        The initial state, 1-d, finite.
    T : float
        The final time, >= 0.
    rtol, atol : float
        DOP853's tolerances (rtol at least 100 eps, SciPy's floor).

    Returns
    -------
    FlowResult

    Raises
    ------
    FlowError
        When the solution blows up or the solver fails: the message gives the time reached and why.

    Notes
    -----
    SciPy's DOP853 (Dormand-Prince 8(5,3)) on the host. The error estimate is the
    difference with a second solve at :math:`rtol/10` (floored at 100 eps); the
    global error of an adaptive method scales with its tolerance, so the
    difference is the first solve's error to within about 10%.
    """
    field = check_callable(field, "field")
    theta0 = as_theta(theta0, "theta0")
    T = check_nonnegative(T, "T")
    rtol = check_positive(rtol, "rtol")
    atol = check_positive(atol, "atol")
    if rtol < 100 * _EPS:
        raise ValueError(f"rtol must be >= 100 eps = {100 * _EPS:.3g} (DOP853's floor), got {rtol}")
    if T == 0.0:
        return FlowResult(theta0.copy(), 0.0, 0)
    loose = _solve(field, theta0, T, rtol, atol)
    tight = _solve(field, theta0, T, max(rtol / _TIGHTER, 100 * _EPS), atol / _TIGHTER)
    a, b = loose.y[:, -1], tight.y[:, -1]
    return FlowResult(a.copy(), float(np.max(np.abs(a - b))), int(loose.nfev + tight.nfev))


def sampled_flow(field: Callable[[np.ndarray], np.ndarray], theta0: Any, times: Any, *, rtol: float = 1e-10,
                 atol: float = 1e-12) -> np.ndarray:
    """The flow at each of the increasing `times` (the first 0), as rows: one DOP853 solve per interval.

    For plotting a path; each solve starts from the last point, so the errors of the
    intervals add (each at most about `rtol` relative, see :func:`flow`).
    """
    theta0 = as_theta(theta0, "theta0")
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or times.size == 0 or times[0] != 0.0 or np.any(np.diff(times) < 0):
        raise ValueError(f"times must be a 1-d increasing sequence starting at 0, got {times!r:.60}")
    path = np.empty((times.size, theta0.size))
    path[0] = theta0
    for i, dt in enumerate(np.diff(times)):
        path[i + 1] = flow(field, path[i], float(dt), rtol=rtol, atol=atol).theta
    return path


def rk4(field: Callable[[np.ndarray], np.ndarray], theta0: Any, T: float, substeps: int = 32) -> np.ndarray:
    r"""Classical Runge-Kutta with `substeps` equal steps over [0, T]: error :math:`O(T^5/\mathrm{substeps}^4)`."""
    field = check_callable(field, "field")
    y = as_theta(theta0, "theta0")
    T = check_nonnegative(T, "T")
    n = check_int(substeps, "substeps", minimum=1)
    dt = T / n
    for _ in range(n):
        k1 = field(y)
        k2 = field(y + 0.5 * dt * k1)
        k3 = field(y + 0.5 * dt * k2)
        k4 = field(y + dt * k3)
        y = y + (dt / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return y


def gradient_descent(problem: Any, theta0: Any, h: float, steps: int) -> np.ndarray:
    r"""The iterates :math:`\theta_{n+1} = \theta_n - h\nabla L(\theta_n)`, n = 0..steps, as rows."""
    check_problem(problem, "problem", ("grad",), "gradient descent")
    theta = as_theta(theta0, "theta0")
    h = check_step(h)
    n = check_int(steps, "steps", minimum=0)
    path = np.empty((n + 1, theta.size))
    path[0] = theta
    for i in range(n):
        path[i + 1] = path[i] - h * problem.grad(path[i])
    return path


def momentum_descent(problem: Any, theta0: Any, h: float, steps: int, *, beta: float, method: str = "heavy_ball",
                     warm: bool = True) -> np.ndarray:
    r"""PyTorch's SGD with momentum (dampening 0): :math:`v_{n+1} = \beta v_n + g_n`, then

    heavy ball :math:`\theta_{n+1} = \theta_n - h v_{n+1}`, Nesterov
    :math:`\theta_{n+1} = \theta_n - h(g_n + \beta v_{n+1})`.

    ``warm=True`` starts the buffer at :math:`v_0 = g_0/(1-\beta)` (the velocity of
    the modified flow, :math:`\theta_{-1} = \theta_0 + hg_0/(1-\beta)`); ``warm=False``
    is PyTorch's cold start :math:`v_1 = g_0`, which shifts the path by O(h).
    Returns the iterates as rows.
    """
    check_problem(problem, "problem", ("grad",), "momentum descent")
    method = check_choice(method, "method", ("heavy_ball", "nesterov"))
    theta = as_theta(theta0, "theta0")
    h = check_step(h)
    n = check_int(steps, "steps", minimum=0)
    beta = check_unit_interval(beta, "beta")
    path = np.empty((n + 1, theta.size))
    path[0] = theta
    v = problem.grad(theta) / (1.0 - beta) if warm else None
    for i in range(n):
        g = problem.grad(path[i])
        v = g if v is None else beta * v + g
        path[i + 1] = path[i] - h * (g + beta * v if method == "nesterov" else v)
    return path


def adam_descent(problem: Any, theta0: Any, h: float, steps: int, *, beta: float, rho: float, eps: float,
                 warm: bool = True) -> np.ndarray:
    r"""Adam with :math:`\epsilon` inside the square root and no bias correction (RMSprop for beta = 0):

    .. math::

        m_{n+1} = \beta m_n + (1-\beta)g_n,\quad v_{n+1} = \rho v_n + (1-\rho)g_n^2,\quad
        \theta_{n+1} = \theta_n - h\,\frac{m_{n+1}}{\sqrt{v_{n+1} + \epsilon}}.

    ``warm=True`` starts the moments on their slow values, :math:`m_0 = g_0`,
    :math:`v_0 = g_0^2` (what bias correction aims at; their O(h) offset from the
    modified flow's moments decays geometrically and shifts the path by
    :math:`O(h^2)`); ``warm=False`` starts them at zero without bias correction,
    an O(1) offset that shifts the path by O(h). Returns the iterates as rows.

    References
    ----------
    .. [1] M. D. Cattaneo, J. M. Klusowski, B. Shigida, "On the Implicit Bias of Adam", ICML 2024.
    """
    check_problem(problem, "problem", ("grad",), "Adam")
    theta = as_theta(theta0, "theta0")
    h = check_step(h)
    n = check_int(steps, "steps", minimum=0)
    beta = check_unit_interval(beta, "beta")
    rho = check_unit_interval(rho, "rho")
    eps = check_positive(eps, "eps")
    path = np.empty((n + 1, theta.size))
    path[0] = theta
    g = problem.grad(theta)
    m, v = (g.copy(), g * g) if warm else (np.zeros_like(theta), np.zeros_like(theta))
    for i in range(n):
        g = problem.grad(path[i])
        m = beta * m + (1.0 - beta) * g
        v = rho * v + (1.0 - rho) * g * g
        path[i + 1] = path[i] - h * m / np.sqrt(v + eps)
    return path
