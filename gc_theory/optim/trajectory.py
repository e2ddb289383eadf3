"""Run an optimiser for a number of steps and keep every iterate, gradient and state.

The optimisers are pure, so a trajectory is just a list: the claims, figures
and notebooks replay, compare and measure them after the fact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gc_theory.core.progress import progress
from gc_theory.core.validation import check_positive_int
from ._base import Optimizer

__all__ = ["Trajectory", "record_trajectory", "trajectory"]

GradFn = Callable[[dict[str, Any], int], Mapping[str, Any]]


@dataclass
class Trajectory:
    """Iterates ``params[0..T]``, the gradients ``grads[0..T-1]`` used by each step, and states ``states[0..T]``.

    ``grads[t]`` was evaluated at ``points[t]`` (the parameters, or the
    look-ahead point for look-ahead Nesterov) and moved ``params[t]`` to
    ``params[t + 1]``.
    """

    params: list[dict[str, Any]] = field(default_factory=list)
    grads: list[dict[str, Any]] = field(default_factory=list)
    points: list[dict[str, Any]] = field(default_factory=list)
    states: list[dict[str, Any]] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return len(self.grads)


def record_trajectory(opt: Optimizer, params: Mapping[str, Any], grad_fn: GradFn, steps: int, *,
                      show_progress: bool | None = False) -> Trajectory:  # fmt: skip
    """Run `steps` steps of `opt` from `params` and record every iterate, gradient and state.

    Arguments follow the order every trajectory function of the toolkit uses:
    the optimiser, the starting point, where gradients come from, the number
    of steps (:func:`gc_theory.experiments.training.full_batch_trajectory` is the same
    with a network and a batch in place of `grad_fn`).

    Parameters
    ----------
    opt : Optimizer
        Any optimiser of :mod:`gc_theory.optim`.
    params : dict of arrays
        The starting point (not modified).
    grad_fn : callable
        ``grad_fn(point, t) -> grads``: the gradient at `point` for step `t`
        (0-based), e.g. of the loss on the t-th mini-batch.
    steps : int
        Number of steps, >= 1.
    show_progress : bool or None
        A progress bar (None: on a terminal only).
    """
    steps = check_positive_int(steps, "steps")
    state = opt.init(params)
    out = Trajectory(params=[dict(params)], states=[state])
    current = dict(params)
    for t in progress(range(steps), opt.name, total=steps, enabled=show_progress):
        point = opt.gradient_point(current, state)
        grads = dict(grad_fn(point, t))
        current, state = opt.step(current, grads, state)
        out.points.append(point)
        out.grads.append(grads)
        out.params.append(current)
        out.states.append(state)
    return out

