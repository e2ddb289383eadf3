r"""Training loops for the models: full-batch trajectories for the theory, mini-batch runs on data sets.

* :func:`full_batch_trajectory`: every iterate of full-batch training, for
  claims that must hold "at every step t" (output invariance, hyperplane
  confinement).
* :func:`train`: mini-batch training with per-epoch training loss and test
  accuracy; every experiment of this package trains through it.

Everything is computed in memory, nothing is cached on disk.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gc_theory import optim
from gc_theory.core.validation import check_int, check_positive_int, check_seed
from gc_theory.core.backend import array_namespace
from gc_theory.datasets import Dataset
from gc_theory.models import Network
from gc_theory.optim import Optimizer

__all__ = ["Evaluate", "History", "Prepare", "full_batch_trajectory", "train"]


def full_batch_trajectory(opt: Optimizer, params: dict[str, Any], net: Network, batch: Any,
                          steps: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:  # fmt: skip
    """Full-batch training: the iterates ``[w_0, ..., w_steps]`` and the gradients ``[g_0, ..., g_{steps-1}]``.

    :func:`gc_theory.optim.record_trajectory` with the gradient of `net`'s
    loss on one fixed `batch`; the arguments come in the same order
    (optimiser, start, where gradients come from, steps). The gradient is
    evaluated where the optimiser asks (the look-ahead point for look-ahead
    Nesterov), so the same loop serves every optimiser.
    """
    steps = check_int(steps, "steps", minimum=0)
    if steps == 0:
        return [dict(params)], []
    traj = optim.record_trajectory(opt, params, lambda point, t: net.loss_and_grad(point, batch)[1], steps)
    return traj.params, traj.grads


@dataclass(frozen=True)
class History:
    """Per-epoch curves of one run; index 0 is before training."""

    train_loss: np.ndarray
    test_accuracy: np.ndarray
    seconds: float


def _evaluate(net: Network, params: dict[str, Any], data: Dataset) -> tuple[float, float]:
    return float(net.loss(params, data.train)), net.accuracy(params, data.test)


#: ``prepare(net, params, data, rng) -> params``: a step between drawing the weights and the first update.
Prepare = Callable[[Network, dict[str, Any], Dataset, np.random.Generator], dict[str, Any]]
#: ``evaluate(net, params, data) -> (training loss, test accuracy)``.
Evaluate = Callable[[Network, dict[str, Any], Dataset], tuple[float, float]]


def _take(x: Any, idx: np.ndarray) -> Any:
    xp = array_namespace(x)
    return xp.take(x, xp.asarray(idx), axis=0)


def train(net: Network, data: Dataset, opt: Optimizer, *, epochs: int, batch_size: int, seed: int,
          prepare: Prepare | None = None, evaluate: Evaluate | None = None) -> History:  # fmt: skip
    """Mini-batch training with a fresh shuffle each epoch (from `seed`); parameters initialised from `seed`.

    Returns the training loss on the whole training set and the test accuracy,
    before training and after each epoch. `prepare` changes the initial
    parameters (data-dependent initialisation); it gets a child stream of the
    seed's generator, so the mini-batch order is the same with and without it,
    and runs that differ only in `prepare` are paired; `evaluate`
    replaces the default measurement (a network with batch statistics needs
    its test-time form for the test accuracy).
    """
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    xp = array_namespace(data.x_train)
    rng = np.random.default_rng(check_seed(seed))
    params = net.init(rng, xp, data.x_train.dtype)
    if prepare is not None:
        params = prepare(net, params, data, rng.spawn(1)[0])
    evaluate = _evaluate if evaluate is None else evaluate
    state = opt.init(params)
    n = data.x_train.shape[0]
    losses, accuracies = [], []
    start = time.perf_counter()
    loss, acc = evaluate(net, params, data)
    losses.append(loss), accuracies.append(acc)
    for _ in range(epochs):
        order = rng.permutation(n)
        for begin in range(0, n, batch_size):
            idx = order[begin : begin + batch_size]
            batch = (_take(data.x_train, idx), _take(data.y_train, idx))
            point = opt.gradient_point(params, state)
            _, grads = net.loss_and_grad(point, batch)
            params, state = opt.step(params, grads, state)
        loss, acc = evaluate(net, params, data)
        losses.append(loss), accuracies.append(acc)
    return History(np.asarray(losses), np.asarray(accuracies), time.perf_counter() - start)
