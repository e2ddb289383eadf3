r"""Training loops for the models: full-batch trajectories for the theory, mini-batch runs on digits.

* :func:`trajectory`: every iterate of full-batch training, for claims that
  must hold "at every step t" (output invariance, hyperplane confinement).
* :func:`train`: mini-batch training with per-epoch training loss and test
  accuracy.
* :func:`digits_experiment`: GC against no GC on scikit-learn's digits, for a
  small CNN and an MLP, with SGD-momentum and Adam, over several seeds; this
  is what notebook 04 and the figure ``gc_training`` show.

Everything is computed in memory, nothing is cached on disk; long loops show a
progress bar on a terminal only.

References
----------
.. [1] H. Yong, J. Huang, X. Hua, L. Zhang, "Gradient Centralization: A New Optimization Technique
   for Deep Neural Networks", ECCV 2020, Sec. 4 (experiments).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from . import optim
from ._progress import progress
from ._validation import check_int, check_positive_int, check_seed
from .backend import array_namespace
from .data import Dataset, load_digits
from .models import Network, mlp, small_cnn
from .optim import Optimizer

__all__ = [
    "CONFIG",
    "ExperimentResult",
    "History",
    "digits_experiment",
    "format_summary",
    "full_batch_trajectory",
    "make_model",
    "make_optimizer",
    "summary_table",
    "train",
    "trajectory",
]


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


def trajectory(net: Network, params: dict[str, Any], batch: Any, opt: Optimizer,
               steps: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:  # fmt: skip
    """Deprecated: use :func:`full_batch_trajectory` ``(opt, params, net, batch, steps)``."""
    warnings.warn("training.trajectory(net, params, batch, opt, steps) is deprecated; call "
                  "training.full_batch_trajectory(opt, params, net, batch, steps)", DeprecationWarning, stacklevel=2)  # fmt: skip
    return full_batch_trajectory(opt, params, net, batch, steps)


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


#: The experiment's settings, chosen on the runs without GC so that both optimisers converge within the
#: epochs (SGD-momentum 0.05 with momentum 0.9; Adam 3e-3), and GC on the gradient as in the paper's
#: algorithms; the same settings are used with and without GC.
CONFIG: dict[str, Any] = {
    "epochs": 10,
    "batch_size": 64,
    "optimizers": {"SGD-momentum": {"lr": 0.05, "momentum": 0.9}, "Adam": {"lr": 3e-3}},
    "models": {"CNN": "image", "MLP": "flat"},
    "gc_mode": "gradient",
}


def make_optimizer(name: str, gc: str | None) -> Optimizer:
    """``"SGD-momentum"`` or ``"Adam"`` with the settings of :data:`CONFIG` and GC mode `gc`."""
    if name not in CONFIG["optimizers"]:
        raise ValueError(f"optimizer must be one of {sorted(CONFIG['optimizers'])}, got {name!r}")
    settings = CONFIG["optimizers"][name]
    if name == "SGD-momentum":
        return optim.SGD(lr=settings["lr"], momentum=settings["momentum"], gc=gc)
    return optim.Adam(lr=settings["lr"], gc=gc)


def make_model(name: str) -> Network:
    """``"CNN"``: conv 8 -> conv 16 (stride 2) -> linear; ``"MLP"``: 64 -> 32 -> 10 (ReLU)."""
    if name == "CNN":
        return small_cnn(1, 8, (8, 16), 10)
    if name == "MLP":
        return mlp([64, 32, 10])
    raise ValueError(f"model must be 'CNN' or 'MLP', got {name!r}")


@dataclass(frozen=True)
class ExperimentResult:
    """Curves of every run: ``runs[(model, optimizer, gc)]`` is a list of :class:`History`, one per seed."""

    runs: dict[tuple[str, str, bool], list[History]]
    seeds: tuple[int, ...]
    epochs: int
    seconds: float
    settings: dict[str, Any] = field(default_factory=dict)

    def curves(self, model: str, optimizer: str, gc: bool, what: str = "train_loss") -> np.ndarray:
        """Array (seeds, epochs + 1) of one metric."""
        return np.stack([getattr(h, what) for h in self.runs[(model, optimizer, gc)]])


def digits_experiment(
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    *,
    epochs: int | None = None,
    models: Sequence[str] = ("CNN", "MLP"),
    optimizers: Sequence[str] = ("SGD-momentum", "Adam"),
    show_progress: bool | None = None,
) -> ExperimentResult:
    """Train every (model, optimiser) pair with and without GC on digits, once per seed.

    Each seed fixes the initial weights and the mini-batch order, and both arms
    (GC and no GC) use the same seed, so the comparison is paired. The data
    split is the same for every run (``load_digits(seed=0)``).
    """
    if len(seeds) < 1:
        raise ValueError("seeds must not be empty")
    seeds = tuple(check_seed(s, f"seeds[{i}]") for i, s in enumerate(seeds))
    epochs = CONFIG["epochs"] if epochs is None else check_positive_int(epochs, "epochs")
    data = {layout: load_digits(layout=layout) for layout in set(CONFIG["models"][m] for m in models)}
    jobs = [(m, o, gc, s) for m in models for o in optimizers for gc in (False, True) for s in seeds]
    runs: dict[tuple[str, str, bool], list[History]] = {}
    start = time.perf_counter()
    # The matrices are tiny: one BLAS thread is as fast, and does not stall when other work shares the cores.
    with threadpool_limits(limits=1, user_api="blas"):
        for m, o, gc, s in progress(jobs, "digits runs", enabled=show_progress):
            opt = make_optimizer(o, CONFIG["gc_mode"] if gc else None)
            history = train(make_model(m), data[CONFIG["models"][m]], opt, epochs=epochs, batch_size=CONFIG["batch_size"], seed=s)
            runs.setdefault((m, o, gc), []).append(history)
    return ExperimentResult(runs, tuple(seeds), epochs, time.perf_counter() - start, dict(CONFIG))


def summary_table(result: ExperimentResult) -> list[dict[str, Any]]:
    """One row per (model, optimiser, GC): final training loss and test accuracy, mean and std over seeds.

    ``gc_wins`` counts the seeds where GC reached the lower final training
    loss than the same seed without GC (paired comparison).
    """
    rows = []
    for (model, opt, gc), histories in result.runs.items():
        loss = np.array([h.train_loss[-1] for h in histories])
        acc = np.array([h.test_accuracy[-1] for h in histories])
        row = {"model": model, "optimizer": opt, "GC": gc, "final_loss_mean": loss.mean(), "final_loss_std": loss.std(ddof=1) if loss.size > 1 else 0.0,
               "test_acc_mean": acc.mean(), "test_acc_std": acc.std(ddof=1) if acc.size > 1 else 0.0}  # fmt: skip
        if gc:
            base = np.array([h.train_loss[-1] for h in result.runs[(model, opt, False)]])
            row["gc_wins"] = int(np.sum(loss < base))
        rows.append(row)
    return rows


def format_summary(rows: list[dict[str, Any]]) -> str:
    """The rows of :func:`summary_table` as a Markdown table (mean ± std over seeds)."""
    lines = [
        "| model | optimizer | GC | final training loss | final test accuracy | seeds where GC has the lower loss |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        wins = f"{r['gc_wins']}" if "gc_wins" in r else ""
        lines.append(
            f"| {r['model']} | {r['optimizer']} | {'yes' if r['GC'] else 'no'} | {r['final_loss_mean']:.4f} ± {r['final_loss_std']:.4f} "
            f"| {r['test_acc_mean']:.4f} ± {r['test_acc_std']:.4f} | {wins} |"
        )
    return "\n".join(lines)
