"""The layers, losses and models of :mod:`gc_theory.models` as flat-vector gradient cases.

A catalogue case is a scalar function of a dict of arrays (parameters and
input); the checker works on one array, so the dict is flattened into a
vector (C order, keys in the case's order) and the gradient dict likewise.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..models import catalogue, planted_bugs
from .cases import Case

__all__ = ["flat_case", "model_bug_cases", "model_cases"]


def flat_case(case: Any, xp: Any) -> Case:
    """A :class:`~gc_theory.models.GradCase` as a function of one flat vector."""
    keys = list(case.point)
    shapes = [tuple(case.point[k].shape) for k in keys]
    sizes = [math.prod(s) for s in shapes]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()

    def unflatten(v: Any) -> dict[str, Any]:
        return {k: xp.reshape(v[offsets[i] : offsets[i + 1]], shapes[i]) for i, k in enumerate(keys)}

    def flatten(d: dict[str, Any]) -> Any:
        return xp.concat([xp.reshape(d[k], (-1,)) for k in keys])

    def f(v: Any) -> Any:
        return case.value(unflatten(v))

    def grad(v: Any) -> Any:
        return flatten(case.value_and_grad(unflatten(v))[1])

    blocks = {k: (offsets[i], shapes[i]) for i, k in enumerate(keys)}
    def kinks(v: Any) -> Any:
        return case.kinks(unflatten(v))

    return Case(case.name, flatten(case.point), f, grad, blocks, kinks)


def model_cases(xp: Any, dtype: Any, rng: np.random.Generator) -> list[Case]:
    """Every catalogue case (layers, losses, models), flattened; seeded from `rng`."""
    seed = int(rng.integers(0, 2**31))
    return [flat_case(c, xp) for c in catalogue(xp, dtype, seed=seed)]


def model_bug_cases(xp: Any, dtype: Any, rng: np.random.Generator) -> list[Case]:
    """The models' own planted backward-pass bugs (flipped kernel, 1 - y for tanh, ...), flattened."""
    seed = int(rng.integers(0, 2**31))
    return [flat_case(c, xp) for c in planted_bugs(xp, dtype, seed=seed)]
