r"""Weight Normalization on the digits: plain, WN, WN + mean-only BN and BN over a learning-rate sweep.

The comparison of Table 1 of Salimans and Kingma [1]_ (CIFAR-10), scaled down to
what trains in minutes on two CPU cores: a small CNN on scikit-learn's 8x8
digits in four variants, each trained with SGD and momentum 0.9 at five learning
rates over two decades, once per seed.

* ``"plain"``: conv 3x3 (1 -> 8) -> ReLU -> conv 3x3 stride 2 (8 -> 16) -> ReLU -> linear (256 -> 10);
* ``"WN"``: every conv and the linear layer wrapped in :class:`~gc_theory.models.WeightNorm`,
  g and b from data-dependent initialisation (Sec. 3 of [1]_);
* ``"WN + mean-only BN"``: as WN, with :class:`~gc_theory.models.MeanOnlyBatchNorm` after each conv (Sec. 4);
* ``"BN"``: the plain network with :class:`~gc_theory.models.BatchNorm` after each conv.

The training loop, its history and its per-seed determinism are those of
:func:`gc_theory.experiments.training.train`; test accuracy is measured with the test-time
network (batch statistics of the whole training set,
:func:`~gc_theory.models.normalization.population_forward`), so a test example's
prediction does not depend on the other test examples.

>>> from gc_theory.experiments.weightnorm import weightnorm_experiment
>>> r = weightnorm_experiment(seeds=(0,), learning_rates=(0.03,), variants=("WN",), epochs=1)
>>> r.test_error("WN", 0.03).shape
(1,)

References
----------
.. [1] T. Salimans, D. P. Kingma, "Weight Normalization: A Simple Reparameterization to Accelerate
   Training of Deep Neural Networks", NeurIPS 2016, arXiv:1602.07868, Sec. 3, 4, 5.1 and Table 1.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from gc_theory import optim
from gc_theory.core.io import atomic_write_text
from gc_theory.core.progress import progress
from gc_theory.core.validation import check_choice, check_positive, check_positive_int, check_seed
from gc_theory.core.backend import array_namespace
from gc_theory.datasets import Dataset, load_digits
from gc_theory.models import BatchNorm, Conv2d, Flatten, Linear, MeanOnlyBatchNorm, Network, ReLU, SoftmaxCrossEntropy, WeightNorm
from gc_theory.models.layers import Layer
from gc_theory.models.normalization import data_dependent_init_network, population_forward
from .training import History, train

__all__ = [
    "CONFIG",
    "LEARNING_RATES",
    "PAPER_TABLE_1",
    "RESULTS_PATH",
    "SEEDS",
    "VARIANTS",
    "SweepResult",
    "format_sweep",
    "from_json",
    "load_results",
    "make_cnn",
    "save_results",
    "sweep_table",
    "to_json",
    "weightnorm_experiment",
]

VARIANTS = ("plain", "WN", "WN + mean-only BN", "BN")
#: Five rates over two decades for SGD with momentum 0.9.
LEARNING_RATES = (0.003, 0.01, 0.03, 0.1, 0.3)
SEEDS = (0, 1, 2, 3, 4)
#: Settings of the sweep, chosen so that the whole of it (100 runs) takes under 3 minutes on two
#: cores; ``curve_rate`` is the rate whose training-loss curves the figure shows.
CONFIG: dict[str, Any] = {
    "epochs": 6,
    "batch_size": 64,
    "momentum": 0.9,
    "channels": (8, 16),
    "init_batch": 256,
    "init_scale": 1.0,
    "curve_rate": 0.03,
}
#: Test error (%) on CIFAR-10 without data augmentation, Table 1 of [1]_ (their 200-epoch CNN, Adam).
PAPER_TABLE_1 = {"plain": 8.43, "WN": 8.46, "WN + mean-only BN": 7.31, "BN": 8.05}


def make_cnn(variant: str, channels: Sequence[int] = CONFIG["channels"]) -> Network:
    """The digits CNN of :data:`VARIANTS` `variant`: conv 3x3 -> conv 3x3 stride 2 -> linear, ReLU between."""
    variant = check_choice(variant, "variant", VARIANTS)
    weight_normed = variant.startswith("WN")
    layers: list[Layer] = []
    c, size = 1, 8
    for i, out in enumerate(channels):
        conv = Conv2d(c, out, 3, stride=1 if i == 0 else 2, padding=1)
        size = conv.output_shape((1, c, size, size))[2]
        layers.append(WeightNorm(conv) if weight_normed else conv)
        if variant == "WN + mean-only BN":
            layers.append(MeanOnlyBatchNorm(out))
        elif variant == "BN":
            layers.append(BatchNorm(out))
        layers.append(ReLU())
        c = out
    head = Linear(c * size * size, 10)
    layers += [Flatten(), WeightNorm(head) if weight_normed else head]
    return Network(layers, SoftmaxCrossEntropy())


def _data_dependent_init(net: Network, params: dict[str, Any], data: Dataset, rng: np.random.Generator) -> dict[str, Any]:
    """g and b of every WeightNorm layer from one batch of training images, layer by layer (Sec. 3 of [1]_)."""
    xp = array_namespace(data.x_train)
    idx = rng.choice(data.x_train.shape[0], CONFIG["init_batch"], replace=False)
    x = xp.take(data.x_train, xp.asarray(idx), axis=0)
    return data_dependent_init_network(net.body, params, x, init_scale=CONFIG["init_scale"])


def _evaluate(net: Network, params: dict[str, Any], data: Dataset) -> tuple[float, float]:
    """Training loss (whole training set) and test accuracy of the test-time network."""
    logits = population_forward(net.body, params, data.x_test, data.x_train)
    xp = array_namespace(logits)
    hits = xp.argmax(logits, axis=1) == xp.astype(data.y_test, xp.int64)
    accuracy = float(xp.mean(xp.astype(hits, logits.dtype)))
    return float(net.loss(params, data.train)), accuracy


@dataclass(frozen=True)
class SweepResult:
    """Every run: ``runs[(variant, learning_rate)]`` is a list of :class:`~gc_theory.experiments.training.History`, one per seed."""

    runs: dict[tuple[str, float], list[History]]
    seeds: tuple[int, ...]
    epochs: int
    seconds: float
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def variants(self) -> tuple[str, ...]:
        return tuple(v for v in VARIANTS if any(k[0] == v for k in self.runs))

    @property
    def learning_rates(self) -> tuple[float, ...]:
        return tuple(sorted({lr for _, lr in self.runs}))

    def test_error(self, variant: str, lr: float) -> np.ndarray:
        """Final test error (fraction) of every seed, shape (seeds,)."""
        return np.array([1.0 - h.test_accuracy[-1] for h in self.runs[(variant, lr)]])

    def curves(self, variant: str, lr: float, what: str = "train_loss") -> np.ndarray:
        """Array (seeds, epochs + 1) of one metric, ``"train_loss"`` or ``"test_accuracy"``."""
        return np.stack([getattr(h, what) for h in self.runs[(variant, lr)]])


def weightnorm_experiment(
    seeds: Sequence[int] = SEEDS,
    *,
    learning_rates: Sequence[float] = LEARNING_RATES,
    variants: Sequence[str] = VARIANTS,
    epochs: int | None = None,
    show_progress: bool | None = None,
) -> SweepResult:
    """Train every variant at every learning rate once per seed; the comparison is paired by seed.

    A seed fixes the initial v (the same draw for all four variants: WN's v is
    the plain layer's weight), the data-dependent initialisation batch and the
    mini-batch order. The data split is ``load_digits(layout="image", seed=0)``.
    """
    if len(seeds) < 1:
        raise ValueError("seeds must not be empty")
    seeds = tuple(check_seed(s, f"seeds[{i}]") for i, s in enumerate(seeds))
    rates = tuple(check_positive(lr, f"learning_rates[{i}]") for i, lr in enumerate(learning_rates))
    variants = tuple(check_choice(v, f"variants[{i}]", VARIANTS) for i, v in enumerate(variants))
    if not rates or not variants:
        raise ValueError("learning_rates and variants must not be empty")
    epochs = CONFIG["epochs"] if epochs is None else check_positive_int(epochs, "epochs")
    data = load_digits(layout="image")
    jobs = [(v, lr, s) for v in variants for lr in rates for s in seeds]
    runs: dict[tuple[str, float], list[History]] = {}
    start = time.perf_counter()
    # Tiny matrices: one BLAS thread is as fast and does not stall when other work shares the cores.
    with threadpool_limits(limits=1, user_api="blas"):
        for v, lr, s in progress(jobs, "weight-norm runs", enabled=show_progress):
            prepare = _data_dependent_init if v.startswith("WN") else None
            history = train(make_cnn(v), data, optim.SGD(lr=lr, momentum=CONFIG["momentum"]), epochs=epochs,
                            batch_size=CONFIG["batch_size"], seed=s, prepare=prepare, evaluate=_evaluate)
            runs.setdefault((v, lr), []).append(history)
    settings = {**CONFIG, "channels": list(CONFIG["channels"]), "optimizer": "SGD", "learning_rates": list(rates)}
    return SweepResult(runs, seeds, epochs, time.perf_counter() - start, settings)


def sweep_table(result: SweepResult) -> list[dict[str, Any]]:
    """One row per (variant, learning rate): final test error (%) and training loss, mean and spread over seeds.

    ``test_error_std`` is the sample standard deviation (ddof=1, 0 for one
    seed); ``test_error_min``/``max`` bound the seeds.
    """
    rows = []
    for variant in result.variants:
        for lr in result.learning_rates:
            if (variant, lr) not in result.runs:
                continue
            err = 100.0 * result.test_error(variant, lr)
            loss = np.array([h.train_loss[-1] for h in result.runs[(variant, lr)]])
            rows.append({"variant": variant, "learning_rate": float(lr), "seeds": int(err.size),
                         "test_error_mean": float(err.mean()), "test_error_std": float(err.std(ddof=1)) if err.size > 1 else 0.0,
                         "test_error_min": float(err.min()), "test_error_max": float(err.max()),
                         "final_loss_mean": float(loss.mean())})  # fmt: skip
    return rows


def format_sweep(rows: list[dict[str, Any]]) -> str:
    """The rows of :func:`sweep_table` as a Markdown table: variants down, learning rates across (mean ± std %)."""
    rates = sorted({r["learning_rate"] for r in rows})
    variants = [v for v in VARIANTS if any(r["variant"] == v for r in rows)]
    cell = {(r["variant"], r["learning_rate"]): r for r in rows}
    lines = ["| variant | " + " | ".join(f"lr {lr:g}" for lr in rates) + " | CIFAR-10, Table 1 of the paper |",
             "| --- |" + " --- |" * (len(rates) + 1)]  # fmt: skip
    for v in variants:
        cells = [f"{cell[(v, lr)]['test_error_mean']:.1f} ± {cell[(v, lr)]['test_error_std']:.1f}" if (v, lr) in cell else ""
                 for lr in rates]  # fmt: skip
        lines.append(f"| {v} | " + " | ".join(cells) + f" | {PAPER_TABLE_1[v]:.2f} |")
    return "\n".join(lines)


def to_json(result: SweepResult) -> dict[str, Any]:
    """The result as plain Python types (the curves of every run; the wall time, which varies, apart)."""
    return {
        "seeds": list(result.seeds),
        "epochs": result.epochs,
        "seconds": round(float(result.seconds), 1),
        "settings": result.settings,
        "runs": [{"variant": v, "learning_rate": float(lr), "seed": int(s),
                  "train_loss": [float(x) for x in h.train_loss], "test_accuracy": [float(x) for x in h.test_accuracy]}
                 for (v, lr), histories in result.runs.items() for s, h in zip(result.seeds, histories)],
    }  # fmt: skip


def from_json(data: dict[str, Any]) -> SweepResult:
    """The :class:`SweepResult` that :func:`to_json` wrote (run times are not kept: 0)."""
    runs: dict[tuple[str, float], list[History]] = {}
    for run in data["runs"]:
        history = History(np.asarray(run["train_loss"]), np.asarray(run["test_accuracy"]), 0.0)
        runs.setdefault((run["variant"], float(run["learning_rate"])), []).append(history)
    return SweepResult(runs, tuple(data["seeds"]), int(data["epochs"]), float(data["seconds"]), dict(data["settings"]))


#: Where the committed results of the full sweep live (package data, read by the figure).
RESULTS_PATH = Path(__file__).with_name("weightnorm_digits.json")


def save_results(result: SweepResult, path: str | os.PathLike[str] = RESULTS_PATH) -> Path:
    """Write :func:`to_json` of `result` atomically (an interrupted run leaves the old file)."""
    return atomic_write_text(path, json.dumps(to_json(result), indent=1) + "\n")


def load_results(path: str | os.PathLike[str] = RESULTS_PATH) -> SweepResult:
    """The result that :func:`save_results` wrote (by default the committed full sweep)."""
    return from_json(json.loads(Path(path).read_text(encoding="utf-8")))


if __name__ == "__main__":  # pragma: no cover - regenerates the committed results
    r = weightnorm_experiment()
    print(format_sweep(sweep_table(r)))
    print(f"{r.seconds:.1f} s")
    print(save_results(r))
