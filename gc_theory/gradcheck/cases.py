r"""Small losses with analytic gradients, and planted gradient bugs, for claims, tests and notebooks.

Every case is written against the array API (any backend, float32 or
float64): a parameter array x, a scalar loss f(x) and its hand-derived
gradient. They cover the GC operator itself (the gradient of
:math:`L(\mathrm{centralize}(W))` is :math:`P` applied to :math:`\partial L/\partial W'`,
since P is symmetric) and the losses used across the toolkit. When
:mod:`gc_theory.models` is present, :func:`gradient_cases` adds every layer
and model it lists.

Planted bugs (:func:`plant`): a sign flip in one entry, a factor 2, and a
transposed weight gradient (square weights only), the three mistakes the
gradient-checking notes single out.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..backend import array_namespace, to_numpy
from ..centralization import centralize
from ..models.catalogue import GradCase, Layout, catalogue, planted_bugs

__all__ = ["BUGS", "Case", "Layout", "flat_case", "gradient_cases", "model_bug_cases", "plant", "planted_entries", "ravel_params"]

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


#: The layout of an inline case whose x is one (out, in) weight.
_WEIGHT = {"x": Layout(output_axis=0, transposable=True)}


def _logsumexp(xp: Any, z: Any) -> Any:
    m = xp.max(z, axis=1, keepdims=True)
    return xp.log(xp.sum(xp.exp(z - m), axis=1, keepdims=True)) + m


def _softmax(xp: Any, z: Any) -> Any:
    e = xp.exp(z - xp.max(z, axis=1, keepdims=True))
    return e / xp.sum(e, axis=1, keepdims=True)


def gc_operator_case(xp: Any, dtype: Any, rng: np.random.Generator, size: int = 5, batch: int = 8) -> Case:
    r"""L(W) = mean_b sum_k tanh(X centralize(W)^T)_{bk} C_{bk}; grad = centralize(dL/dW')."""
    asarray = lambda a: xp.asarray(np.asarray(a), dtype=dtype)  # noqa: E731
    X, C = asarray(rng.standard_normal((batch, size))), asarray(rng.standard_normal((batch, size)))
    W = asarray(rng.standard_normal((size, size)) / math.sqrt(size) + 0.3)

    def f(w: Any) -> Any:
        return xp.sum(xp.tanh(X @ xp.permute_dims(centralize(w), (1, 0))) * C) / batch

    def grad(w: Any) -> Any:
        T = xp.tanh(X @ xp.permute_dims(centralize(w), (1, 0)))
        return centralize(xp.permute_dims((1 - T * T) * C, (1, 0)) @ X / batch)

    return Case("gc_operator (tanh layer on centralize(W))", W, f, grad, layout=_WEIGHT)


def linear_mse_case(xp: Any, dtype: Any, rng: np.random.Generator, size: int = 4, batch: int = 6) -> Case:
    """L(W) = mean_b ||W x_b - y_b||^2 / 2 for a linear layer (out, in); grad = R^T X / B."""
    asarray = lambda a: xp.asarray(np.asarray(a), dtype=dtype)  # noqa: E731
    X, Y = asarray(rng.standard_normal((batch, size))), asarray(rng.standard_normal((batch, size)))
    W = asarray(rng.standard_normal((size, size)))

    def f(w: Any) -> Any:
        R = X @ xp.permute_dims(w, (1, 0)) - Y
        return xp.sum(R * R) / (2 * batch)

    def grad(w: Any) -> Any:
        R = X @ xp.permute_dims(w, (1, 0)) - Y
        return xp.permute_dims(R, (1, 0)) @ X / batch

    return Case("linear + MSE", W, f, grad, layout=_WEIGHT)


def softmax_xent_case(xp: Any, dtype: Any, rng: np.random.Generator, classes: int = 4) -> Case:
    """Mean softmax cross-entropy of logits z (batch, classes); grad = (softmax(z) - onehot)/B."""
    batch = classes
    onehot_host = np.eye(classes)[rng.integers(0, classes, size=batch)]
    onehot = xp.asarray(onehot_host, dtype=dtype)
    z = xp.asarray(rng.standard_normal((batch, classes)), dtype=dtype)

    def f(z: Any) -> Any:
        return xp.sum(_logsumexp(xp, z) - xp.sum(z * onehot, axis=1, keepdims=True)) / batch

    def grad(z: Any) -> Any:
        return (_softmax(xp, z) - onehot) / batch

    return Case("softmax cross-entropy", z, f, grad)


def tanh_xent_case(xp: Any, dtype: Any, rng: np.random.Generator, size: int = 4, batch: int = 6) -> Case:
    """Cross-entropy of logits tanh(X W^T) (a tanh layer feeding a softmax); chain rule by hand."""
    asarray = lambda a: xp.asarray(np.asarray(a), dtype=dtype)  # noqa: E731
    X = asarray(rng.standard_normal((batch, size)))
    onehot = asarray(np.eye(size)[rng.integers(0, size, size=batch)])
    W = asarray(rng.standard_normal((size, size)) / math.sqrt(size))

    def f(w: Any) -> Any:
        z = 3 * xp.tanh(X @ xp.permute_dims(w, (1, 0)))
        return xp.sum(_logsumexp(xp, z) - xp.sum(z * onehot, axis=1, keepdims=True)) / batch

    def grad(w: Any) -> Any:
        T = xp.tanh(X @ xp.permute_dims(w, (1, 0)))
        dz = (_softmax(xp, 3 * T) - onehot) / batch
        return xp.permute_dims(dz * 3 * (1 - T * T), (1, 0)) @ X

    return Case("tanh layer + cross-entropy", W, f, grad, layout=_WEIGHT)


def gradient_cases(xp: Any, dtype: Any, rng: np.random.Generator) -> list[Case]:
    """Every case: the inline ones above, then each layer, loss and model of gc_theory.models."""
    cases = [
        gc_operator_case(xp, dtype, rng),
        linear_mse_case(xp, dtype, rng),
        softmax_xent_case(xp, dtype, rng),
        tanh_xent_case(xp, dtype, rng),
    ]
    return cases + _model_cases(xp, dtype, rng)


def _model_cases(xp: Any, dtype: Any, rng: np.random.Generator) -> list[Case]:
    """Every catalogue case of gc_theory.models (layers, losses, models), flattened; seeded from `rng`."""
    seed = int(rng.integers(0, 2**31))
    return [flat_case(c, xp) for c in catalogue(xp, dtype, seed=seed)]


def model_bug_cases(xp: Any, dtype: Any, rng: np.random.Generator) -> list[Case]:
    """The models' own planted backward-pass bugs (flipped kernel, 1 - y for tanh, ...), flattened."""
    seed = int(rng.integers(0, 2**31))
    return [flat_case(c, xp) for c in planted_bugs(xp, dtype, seed=seed)]


def flat_case(case: GradCase, xp: Any) -> Case:
    """A :class:`~gc_theory.models.GradCase` (a function of a dict of arrays) as a function of one flat vector.

    The flattening is :func:`ravel_params`'s (C order, keys in the case's
    order); ``blocks`` records where each key's array lies in the vector.
    """
    v, unravel = ravel_params(case.point)
    shapes = [tuple(a.shape) for a in case.point.values()]
    offsets = np.concatenate([[0], np.cumsum([math.prod(s) for s in shapes])]).tolist()

    def grad(w: Any) -> Any:
        return ravel_params(case.value_and_grad(unravel(w))[1])[0]

    blocks = {k: (offsets[i], shapes[i]) for i, k in enumerate(case.point)}
    return Case(case.name, v, lambda w: case.value(unravel(w)), grad, blocks, lambda w: case.kinks(unravel(w)), dict(case.layout))


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
