"""GC against no GC on digits: training loss and test accuracy, mean and spread over seeds."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from gc_theory.experiments.gc import ExperimentResult, digits_experiment
from . import figure

STYLES = {
    ("SGD-momentum", False): ("C0", "-"),
    ("SGD-momentum", True): ("C0", "--"),
    ("Adam", False): ("C1", "-"),
    ("Adam", True): ("C1", "--"),
}


@figure("gc_training")
def gc_training(result: ExperimentResult | None = None) -> Figure:
    """Rows: CNN, MLP. Columns: training loss (log scale), test accuracy. Lines: mean over seeds;
    bands: min to max over seeds; dashed: with GC."""
    result = digits_experiment() if result is None else result
    models = sorted({m for m, _, _ in result.runs}, key=lambda m: ("CNN", "MLP").index(m) if m in ("CNN", "MLP") else 9)
    fig = Figure(figsize=(10.0, 3.4 * len(models)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(models), 2))
    epochs = np.arange(result.epochs + 1)
    for row, model in zip(axes, models):
        for (opt, gc), (color, style) in STYLES.items():
            if (model, opt, gc) not in result.runs:
                continue
            label = f"{opt}{' + GC' if gc else ''}"
            for ax, what in zip(row, ("train_loss", "test_accuracy")):
                curves = result.curves(model, opt, gc, what)
                ax.plot(epochs, curves.mean(axis=0), color=color, linestyle=style, label=label)
                ax.fill_between(epochs, curves.min(axis=0), curves.max(axis=0), color=color, alpha=0.12 if gc else 0.2, linewidth=0)
        row[0].set_yscale("log")
        row[0].set(xlabel="epoch", ylabel="training loss", title=f"{model}: training loss ({len(result.seeds)} seeds)")
        row[1].set(xlabel="epoch", ylabel="test accuracy", title=f"{model}: test accuracy", ylim=(0.8, 1.0))
        row[1].legend(loc="lower right", fontsize=8)
    return fig
