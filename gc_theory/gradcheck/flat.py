r"""The flat view of a gradient case, and the generic planted bugs that act on any gradient.

The checkers take one array; a case of :mod:`gc_theory.models.cases` is a function of
a dict of arrays. :func:`ravel_params` flattens such a dict (and gives the
inverse map), :func:`flat_case` turns a :class:`~gc_theory.gradcheck.case.GradCase`
into a :class:`Case` over one vector, recording where each array lies
(``blocks``) and how it is laid out (``layout``).

Planted bugs (:func:`plant`): a sign flip in the largest entry, a factor 2, and
a weight gradient read back transposed, the three mistakes the
gradient-checking notes single out. Where a transposed gradient can hide is
read from the explicit :class:`~gc_theory.gradcheck.case.Layout` of each block, never
guessed from a name. A case's own wrong backward passes are registered next
to the case (:func:`gc_theory.models.cases.register_bug_factory`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gc_theory.core.backend import array_namespace, to_numpy
from .case import GradCase, Layout

__all__ = ["BUGS", "Case", "Layout", "flat_case", "plant", "planted_entries", "ravel_params"]

#: The planted bugs, in the order claims and tests use them.
BUGS = ("sign_flip", "factor_2", "transposed")


@dataclass(frozen=True)
class Case:
    """A parameter array, a scalar loss of it and the loss's analytic gradient.

    ``blocks`` maps names to ``(offset, shape)`` of the arrays inside a flat
    ``x`` (None: x is one array, named ``"x"``); ``layout`` declares each
    block's output axis and whether its gradient may plausibly be transposed.
    """

    name: str
    x: Any
    f: Callable[[Any], Any]
    grad: Callable[[Any], Any]
    blocks: dict[str, tuple[int, tuple[int, ...]]] | None = None
    kinks: Callable[[Any], Any] | None = None
    layout: dict[str, Layout] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return math.prod(self.x.shape)

    @property
    def weight_block(self) -> tuple[int, tuple[int, ...]] | None:
        """(offset, shape) of the first block whose layout declares it transposable: where a transposed gradient can hide."""
        blocks = self.blocks if self.blocks is not None else {"x": (0, tuple(self.x.shape))}
        for key, (offset, shape) in blocks.items():
            if self.layout.get(key, Layout()).transposable:
                return offset, shape
        return None


def flat_case(case: GradCase, xp: Any = None, keys: Any = None) -> Case:
    """A :class:`~gc_theory.gradcheck.case.GradCase` (a function of a dict of arrays) as a function of one flat vector.

    The flattening is :func:`ravel_params`'s (C order, keys in the case's
    order); ``blocks`` records where each key's array lies in the vector.
    `keys` (default: all) selects the arrays that vary; the others stay at
    ``case.point``. `xp` is accepted for the callers that pass it: the
    namespace is the case's own.
    """
    keys = list(case.point) if keys is None else [k for k in case.point if k in set(keys)]
    if not keys:
        raise ValueError(f"keys must name arrays of the case ({', '.join(case.point)}), got none of them")
    v, unravel = ravel_params({k: case.point[k] for k in keys})
    shapes = [tuple(case.point[k].shape) for k in keys]
    offsets = np.concatenate([[0], np.cumsum([math.prod(s) for s in shapes])]).tolist()

    def at(w: Any) -> dict[str, Any]:
        return {**case.point, **unravel(w)}

    def grad(w: Any) -> Any:
        g = case.value_and_grad(at(w))[1]
        return ravel_params({k: g[k] for k in keys})[0]

    blocks = {k: (offsets[i], shapes[i]) for i, k in enumerate(keys)}
    layout = {k: case.layout[k] for k in keys if k in case.layout}
    return Case(case.name, v, lambda w: case.value(at(w)), grad, blocks, lambda w: case.kinks(at(w)), layout)


def plant(bug: str, grad: Callable[[Any], Any], x: Any, block: tuple[int, tuple[int, ...]] | None = None) -> Callable[[Any], Any]:
    """A wrong gradient: 'sign_flip' (the largest entry negated), 'factor_2', or 'transposed'.

    'transposed' transposes the weight gradient in `block` (offset and shape of a
    weight inside a flat x; default x itself) as (out, rest) -> (rest, out) and
    reads it back in the weight's shape: the values land in the wrong places
    (for a square weight, exactly G^T).
    """
    if bug not in BUGS:
        raise ValueError(f"bug must be one of {', '.join(BUGS)}, got {bug!r}")
    xp = array_namespace(x)
    if bug == "factor_2":
        return lambda w: 2 * grad(w)
    if bug == "transposed":
        offset, shape = block if block is not None else (0, tuple(x.shape))
        if len(shape) < 2:
            raise ValueError(f"a transposed gradient needs a weight with >= 2 axes, got shape {shape}")
        size = math.prod(shape)

        def transposed(w: Any) -> Any:
            g = grad(w)
            flat = xp.reshape(g, (-1,))
            W = xp.reshape(flat[offset : offset + size], (shape[0], size // shape[0]))
            moved = xp.reshape(xp.permute_dims(W, (1, 0)), (-1,))
            out = xp.concat([flat[:offset], moved, flat[offset + size :]])
            return xp.reshape(out, tuple(g.shape))

        return transposed
    j = int(np.argmax(np.abs(to_numpy(grad(x))).reshape(-1)))
    mask = xp.reshape(xp.arange(math.prod(x.shape)) == j, tuple(x.shape))
    return lambda w: xp.where(mask, -grad(w), grad(w))


def planted_entries(bug: str, grad: Callable[[Any], Any], x: Any, block: tuple[int, tuple[int, ...]] | None = None) -> np.ndarray:
    """Flat indices where the planted bug changes the gradient at x."""
    right = to_numpy(grad(x)).reshape(-1)
    wrong = to_numpy(plant(bug, grad, x, block)(x)).reshape(-1)
    return np.flatnonzero(right != wrong)


def ravel_params(params: dict[str, Any]) -> tuple[Any, Callable[[Any], dict[str, Any]]]:
    """A dict of arrays as one flat vector (C order, keys in dict order), and the inverse map.

    The checkers take one array; a model's parameters are a dict. Use as::

        v, unravel = ravel_params(params)
        f = lambda v: net.loss(unravel(v), batch)
        grad = lambda v: ravel_params(net.loss_and_grad(unravel(v), batch)[1])[0]
    """
    keys = list(params)
    if not keys:
        raise ValueError("params is empty: nothing to flatten")
    xp = array_namespace(*params.values())
    shapes = [tuple(params[k].shape) for k in keys]
    offsets = np.concatenate([[0], np.cumsum([math.prod(s) for s in shapes])]).tolist()

    def unravel(v: Any) -> dict[str, Any]:
        return {k: xp.reshape(v[offsets[i] : offsets[i + 1]], shapes[i]) for i, k in enumerate(keys)}

    return xp.concat([xp.reshape(params[k], (-1,)) for k in keys]), unravel
