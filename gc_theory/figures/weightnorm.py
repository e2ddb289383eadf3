r"""Weight Normalization :math:`w = g\,v/\|v\|`: its geometry in v-space and data-dependent initialisation.

Three figures: the level sets of the loss in v-space (rays), an SGD path of v
whose steps are orthogonal to v so that :math:`\|v_t\|` grows and the
effective step :math:`g^2/\|v_t\|^2` shrinks (claims ``wn.grad_v.orthogonal``,
``wn.norm_growth``, ``wn.effective_lr``); and the pre-activations of a small
network before and after data-dependent initialisation (claim ``wn.init.moments``);
and the training comparison on the digits (plain, WN, WN + mean-only BN, BN over
a learning-rate sweep), drawn from the committed results of
:func:`gc_theory.experiments.weightnorm.weightnorm_experiment`.

Reference: T. Salimans, D. P. Kingma, "Weight Normalization", NeurIPS 2016,
arXiv:1602.07868, Sec. 2.1 (gradients, norm growth) and Sec. 3 (initialisation).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from gc_theory.experiments.weightnorm import SweepResult, load_results
from gc_theory.problems.weightnorm import LEARNING_RATES, SEED, best_direction, norm_growth_run, plane_loss, plane_path, preactivations
from . import figure


@figure("weightnorm_norm_growth")
def weightnorm_norm_growth(seed: int = SEED) -> Figure:
    r"""Left: L(g v/||v||) over the v-plane (g = 1): constant along rays; SGD paths of v turn outward.
    Middle and right: ||v_t|| and the effective step eta g_t^2/||v_t||^2 over t for learning rates over two decades."""
    fig = Figure(figsize=(12.0, 3.9), layout="constrained")
    ax = fig.add_subplot(1, 3, 1)
    s = np.linspace(-2.4, 2.4, 401)
    X, Y = np.meshgrid(s, s)
    V = np.stack([X, Y], axis=-1)
    r = np.hypot(X, Y)
    Z = np.where(r > 0.05, plane_loss(np.where(r[..., None] > 0.05, V, 1.0), 1.0, seed), np.nan)
    ax.contourf(X, Y, Z, levels=14, cmap="Greys", alpha=0.55)
    theta = np.linspace(0, 2 * np.pi, 200)
    for i, (lr, steps) in enumerate(((0.1, 40), (0.4, 40))):
        path = plane_path(lr, steps, seed=seed)
        c = f"C{i}"
        ax.plot(path[:, 0], path[:, 1], "o-", color=c, markersize=2.5, linewidth=1.0, label=fr"SGD on $v$, $\eta$ = {lr:g}")
        ax.plot(np.linalg.norm(path[-1]) * np.cos(theta), np.linalg.norm(path[-1]) * np.sin(theta),
                color=c, linewidth=0.7, linestyle=":")
    best = best_direction(1.0, seed)
    ax.plot([0, 2.6 * best[0]], [0, 2.6 * best[1]], color="k", linewidth=1.0, linestyle="--")
    ax.text(*(1.05 * best + np.array([0.05, -0.25])), "best direction", fontsize=8.5,
            rotation=np.degrees(np.arctan2(best[1], best[0])))
    ax.plot(0, 0, "k+", markersize=6)
    ax.set(xlim=(-2.4, 2.4), ylim=(-2.4, 2.4), aspect="equal", xlabel="$v_1$", ylabel="$v_2$")
    ax.set_title(r"$L(g\,v/\|v\|)$, $g = 1$: level sets are rays")
    ax.legend(loc="lower left")
    ax.grid(False)

    norm_ax = fig.add_subplot(1, 3, 2)
    eff_ax = fig.add_subplot(1, 3, 3)
    for i, lr in enumerate(LEARNING_RATES):
        norms, eff = norm_growth_run(lr, seed=seed)
        t = np.arange(len(norms))
        norm_ax.plot(t, norms.mean(axis=1), color=f"C{i}", label=fr"$\eta$ = {lr:g}")
        eff_ax.semilogy(t, lr * eff.mean(axis=1), color=f"C{i}", label=fr"$\eta$ = {lr:g}")
    norm_ax.set(xlabel="step $t$", ylabel=r"$\|v_t\|$ (mean over 4 units)")
    norm_ax.set_title(r"mini-batch SGD on $(v, g)$: $\|v_t\|$ never decreases")
    norm_ax.legend(loc="upper left")
    eff_ax.set(xlabel="step $t$", ylabel=r"$\eta\, g_t^2/\|v_t\|^2$ (mean over 4 units)")
    eff_ax.set_title(r"effective step of the direction, $\eta\, g_t^2/\|v_t\|^2$")
    # Same colours as the middle panel; a legend here would cover the curves.
    return fig


@figure("weightnorm_init")
def weightnorm_init(seed: int = SEED) -> Figure:
    """Histograms of the pre-activations of the three layers, default init against data-dependent init (Sec. 3)."""
    pre = preactivations(seed=seed)
    fig = Figure(figsize=(11.0, 3.4), layout="constrained")
    for k in range(3):
        ax = fig.add_subplot(1, 3, k + 1)
        for i, (kind, arrays) in enumerate(pre.items()):
            a = arrays[k]
            ax.set_xlim(-4.5, 4.5)
            spread = float(np.mean(a.std(axis=0)))
            ax.hist(a.ravel(), bins=60, density=True, histtype="stepfilled", alpha=0.45, color=f"C{i}",
                    label=f"{kind}: mean std per unit {spread:.2f}")
        ax.set(xlabel="pre-activation", ylabel="density" if k == 0 else None)
        ax.set_title(f"layer {k + 1} ({arrays[k].shape[1]} units)")
        ax.legend(loc="upper left", fontsize=7.5)
    return fig


#: Colour and marker of each variant in the training figure.
VARIANT_STYLES = {"plain": ("C7", "o"), "WN": ("C0", "s"), "WN + mean-only BN": ("C2", "D"), "BN": ("C3", "^")}


@figure("weightnorm_training")
def weightnorm_training(result: SweepResult | None = None) -> Figure:
    """Left: final test error against the learning rate per variant (mean over seeds; bars: min to max).
    Right: training loss over epochs at one learning rate (mean; bands: min to max over seeds).

    Without `result`, the committed full sweep
    (:func:`~gc_theory.experiments.weightnorm.load_results`): rerunning it takes
    minutes, and a test checks that a rerun reproduces it.
    """
    result = load_results() if result is None else result
    rates = np.array(result.learning_rates)
    curve_rate = result.settings.get("curve_rate", rates[len(rates) // 2])
    fig = Figure(figsize=(11.0, 3.9), layout="constrained")
    err_ax, loss_ax = fig.subplots(1, 2)
    epochs = np.arange(result.epochs + 1)
    for k, variant in enumerate(result.variants):
        color, marker = VARIANT_STYLES[variant]
        errors = 100.0 * np.stack([result.test_error(variant, lr) for lr in rates])
        mean = errors.mean(axis=1)
        # Side by side within a rate, so the bars of the four variants do not hide each other.
        x = rates * 1.06 ** (k - 1.5)
        err_ax.errorbar(x, mean, yerr=[mean - errors.min(axis=1), errors.max(axis=1) - mean], color=color,
                        marker=marker, markersize=4.5, capsize=2.5, linewidth=1.2, label=variant)
        if curve_rate in result.learning_rates:
            curves = result.curves(variant, curve_rate)
            loss_ax.plot(epochs, curves.mean(axis=0), color=color, marker=marker, markersize=3.5, label=variant)
            loss_ax.fill_between(epochs, curves.min(axis=0), curves.max(axis=0), color=color, alpha=0.15, linewidth=0)
    err_ax.set_xscale("log")
    err_ax.set_yscale("log")
    err_ax.set(xlabel="learning rate (SGD, momentum 0.9)", ylabel="final test error (%)")
    err_ax.set_title(f"digits CNN, {result.epochs} epochs, {len(result.seeds)} seeds")
    err_ax.legend(loc="upper center", fontsize=8)
    loss_ax.set_yscale("log")
    loss_ax.set(xlabel="epoch", ylabel="training loss")
    loss_ax.set_title(f"training loss at learning rate {curve_rate:g}")
    loss_ax.legend(loc="upper right", fontsize=8)
    return fig
