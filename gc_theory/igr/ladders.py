r"""Errors of a discrete method against a flow on a ladder of steps, with their rounding floors (NumPy/SciPy, host only).

The inputs of every slope claim: for each step h of a ladder, the distance
between what an iteration produced and what a flow predicts, and the error that
rounding alone (and the reference solver) could account for, which
:func:`gc_theory.verify.order_fit.fit_order` keeps far below the errors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .flows import flow, rk4

__all__ = ["dense_lambda_max", "fixed_time_errors", "one_step_errors"]

_EPS = float(np.finfo(np.float64).eps)
#: RK4 substeps for the reference of one step: its error h^5/substeps^4 is a 1e-6 part of an h^4 local error.
_SUBSTEPS = 32

Field = Callable[[np.ndarray], np.ndarray]


def one_step_errors(step: Callable[[np.ndarray, float], np.ndarray], field_for: Callable[[float], Field],
                    theta0: np.ndarray, steps: Sequence[float], span: int = 1, substeps: int = _SUBSTEPS
                    ) -> tuple[np.ndarray, np.ndarray]:
    r"""Max-norm distance between one step of a method and the flow of ``field_for(h)`` over time ``span * h``.

    ``substeps`` sets the RK4 reference (default 32; its error bound is in the floor).
    ``span`` > 1 compares a block of steps (an epoch of m minibatch steps, say) with the flow over mh.

    Returns the errors and their floors: :math:`4(S + 1)\epsilon\|\theta\|_\infty`
    for S RK4 substeps (each substep rounds the state once, to a few u) plus the RK4
    truncation bound :math:`h^5\|\theta\|_\infty/S^4` taken as one unit of the field's scale.
    """
    errors, floors = [], []
    scale = float(np.max(np.abs(theta0))) + 1.0
    for h in steps:
        exact = rk4(field_for(h), theta0, span * h, substeps)
        errors.append(float(np.max(np.abs(step(theta0, h) - exact))))
        floors.append(4.0 * (substeps + 1) * _EPS * scale + (span * h) ** 5 * scale / substeps**4)
    return np.asarray(errors), np.asarray(floors)


def fixed_time_errors(run: Callable[[np.ndarray, float, int], np.ndarray], field_for: Callable[[float], Field],
                      theta0: np.ndarray, steps: Sequence[float], n0: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Max-norm distance at :math:`T = n_0 h_0` between ``run(theta0, h, n)`` (n steps of h) and the flow.

    The ladder must halve (or divide) exactly so that :math:`n = T/h` is an
    integer. Floors: the flow's own error estimate plus :math:`4(n + 1)\epsilon\|\theta\|_\infty`
    for the n rounded updates.
    """
    T = n0 * steps[0]
    errors, floors = [], []
    scale = float(np.max(np.abs(theta0))) + 1.0
    for h in steps:
        n = int(round(T / h))
        if abs(n * h - T) > 1e-12 * T:
            raise ValueError(f"steps must divide T = {T:g} exactly, got h = {h:g}")
        reference = flow(field_for(h), theta0, T)
        errors.append(float(np.max(np.abs(run(theta0, h, n) - reference.theta))))
        floors.append(reference.error + 4.0 * (n + 1) * _EPS * scale)
    return np.asarray(errors), np.asarray(floors)


def dense_lambda_max(problem, theta: np.ndarray) -> float:
    """The largest Hessian eigenvalue of a small problem, from its Hessian assembled column by column (dim hvp calls)."""
    eye = np.eye(theta.size)
    hessian = np.column_stack([problem.hvp(theta, e) for e in eye])
    return float(np.linalg.eigvalsh(0.5 * (hessian + hessian.T))[-1])
