r"""SGD with random shuffling, averaged exactly over every ordering of a tiny data set (NumPy, host only).

One epoch visits the N examples in a random order, in m = N/B minibatches of
B. Averaged over the orderings, its endpoint follows the flow of Smith et al.'s
modified loss

.. math::

    \tilde L_{\mathrm{SGD}} = L + \frac{h}{4m}\,\mathbb E\Bigl[\sum_{k=1}^m \|\nabla L_k\|^2\Bigr]

over time mh with a local error :math:`O(h^3)`, the expectation over the
partitions into minibatches. With N tiny every ordering is enumerated, so the
average is exact rather than sampled.

References
----------
.. [1] S. L. Smith, B. Dherin, D. G. T. Barrett, S. De, "On the Origin of Implicit Regularization in
   Stochastic Gradient Descent", ICLR 2021, Sec. 2.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from gc_theory.core.validation import check_int
from ._checks import as_theta, check_problem, check_step
from .losses import MeanLoss, sgd_modified_loss

__all__ = ["MAX_EXAMPLES", "epoch", "partitions", "shuffled_epoch_mean", "shuffling_modified_loss"]

#: Enumerating N! orderings: 8! = 40320 epochs is the most this is meant for.
MAX_EXAMPLES = 8


def _examples(examples: Sequence[Any], batch_size: int) -> tuple[list[Any], int]:
    items = list(examples)
    if not items or len(items) > MAX_EXAMPLES:
        raise ValueError(f"examples must hold 1..{MAX_EXAMPLES} problems (every ordering is enumerated), "
                         f"got {len(items)}")
    for i, p in enumerate(items):
        check_problem(p, f"examples[{i}]", ("value", "grad", "hvp"), "SGD's modified loss")
    b = check_int(batch_size, "batch_size", minimum=1, maximum=len(items))
    if len(items) % b:
        raise ValueError(f"batch_size must divide the number of examples {len(items)}, got {b}")
    return items, b


def epoch(examples: Sequence[Any], order: Sequence[int], theta0: Any, h: float, batch_size: int) -> np.ndarray:
    """One epoch of SGD visiting `examples` in `order`, B at a time: m = N/B steps of the minibatch mean."""
    items, b = _examples(examples, batch_size)
    theta = as_theta(theta0, "theta0")
    h = check_step(h)
    for start in range(0, len(items), b):
        batch = [items[i] for i in order[start:start + b]]
        theta = theta - h * sum(p.grad(theta) for p in batch) / b
    return theta


def shuffled_epoch_mean(examples: Sequence[Any], theta0: Any, h: float, batch_size: int) -> np.ndarray:
    """The endpoint of one epoch averaged over all N! orderings."""
    items, b = _examples(examples, batch_size)
    ends = [epoch(items, order, theta0, h, b) for order in itertools.permutations(range(len(items)))]
    return np.mean(ends, axis=0)


def partitions(n: int, batch_size: int) -> list[tuple[tuple[int, ...], ...]]:
    """The distinct partitions of range(n) into unordered batches of `batch_size` (each equally likely under shuffling)."""
    seen = set()
    for order in itertools.permutations(range(n)):
        seen.add(tuple(sorted(tuple(sorted(order[s:s + batch_size])) for s in range(0, n, batch_size))))
    return sorted(seen)


def shuffling_modified_loss(examples: Sequence[Any], h: float, batch_size: int) -> MeanLoss:
    r"""Smith et al.'s modified loss averaged over every partition into minibatches (a problem)."""
    items, b = _examples(examples, batch_size)
    h = check_step(h)
    return MeanLoss([sgd_modified_loss([MeanLoss([items[i] for i in batch]) for batch in part], h)
                     for part in partitions(len(items), b)])
