r"""GC against no GC on scikit-learn's digits: a small CNN and an MLP, SGD-momentum and Adam, over seeds.

:func:`digits_experiment` trains every pair with and without GC on the
gradient, paired by seed (same initial weights, same mini-batch order);
:func:`summary_table` and :func:`format_summary` report the final training
loss and test accuracy. Notebook 04 and the figure ``gc_training`` show it.

References
----------
.. [1] H. Yong, J. Huang, X. Hua, L. Zhang, "Gradient Centralization: A New Optimization Technique
   for Deep Neural Networks", ECCV 2020, Sec. 4 (experiments).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from gc_theory import optim
from gc_theory.core.progress import progress
from gc_theory.core.validation import check_positive_int, check_seed
from gc_theory.datasets import load_digits
from gc_theory.models import Network, mlp, small_cnn
from gc_theory.optim import Optimizer

from .training import History, train

__all__ = ["CONFIG", "ExperimentResult", "digits_experiment", "format_summary", "make_model", "make_optimizer", "summary_table"]


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
