r"""Implicit gradient regularisation: gradient descent follows the flow of :math:`L + (h/4)\|\nabla L\|^2`.

Drawing only: the runs come from the problem modules (:func:`gc_theory.problems.two_parameter.two_parameter_runs`,
:func:`gc_theory.problems.valley.valley_runs`, :func:`gc_theory.problems.quadratic.quadratic_runs`; the digits
experiment's committed results, :func:`gc_theory.experiments.igr.load_digits_results`).

References
----------
.. [1] D. G. T. Barrett and B. Dherin, "Implicit Gradient Regularization", ICLR 2021, Sec. 3 (Fig. 1, the
   two-parameter model) and Sec. 4 (explicit gradient regularisation).
.. [2] S. J. D. Prince, *Understanding Deep Learning*, MIT Press 2023, Ch. 9, notebook 9.2 (the valley).
.. [3] E. Hairer, C. Lubich, G. Wanner, *Geometric Numerical Integration*, 2nd ed., Springer 2006, Ch. IX.1.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from gc_theory.experiments.igr import digits_summary, load_digits_results
from gc_theory.problems.quadratic import quadratic_runs
from gc_theory.problems.two_parameter import (FLOW_TIMES, TWO_PARAMETER_STEPS, TWO_PARAMETER_TIME, two_parameter_local_errors,
                                      two_parameter_runs)
from gc_theory.problems.valley import VALLEY_TIME, valley_runs
from . import figure

@figure("igr_two_parameter")
def igr_two_parameter() -> Figure:
    """Left: GD on L = (1 - ab)^2/2 for three steps, the plain flow, the hyperbola of minima and its flattest point.
    Middle: a^2 - b^2 along each run, GD (dots) against its IGR flow (dashed) and the plain flow (conserved).
    Right: the local error of one GD step against the order-k modified flow, slopes k + 2."""
    problem, runs = two_parameter_runs()
    fig = Figure(figsize=(14.0, 4.3), layout="constrained")
    ax, q_ax, err = fig.subplots(1, 3, width_ratios=(0.9, 1.0, 1.0))
    a = np.linspace(0.25, 3.0, 400)
    ax.plot(a, 1.0 / a, color="0.55", linewidth=1.0, label="minima $ab = y/x$")
    ax.plot([1.0], [1.0], marker="*", markersize=12, color="k", linestyle="none", label="flattest minimum")
    plain = runs[0.0][1]
    times = FLOW_TIMES
    ax.plot(*plain.T, color="k", linewidth=1.0, label="gradient flow of $L$")
    q_ax.plot(times, plain[:, 0] ** 2 - plain[:, 1] ** 2, color="k", linewidth=1.0, label="gradient flow of $L$")
    for i, h in enumerate(TWO_PARAMETER_STEPS):
        gd, igr = runs[h]
        c = f"C{i}"
        ax.plot(*gd.T, marker="o", markersize=2.0, color=c, linewidth=0.6, label=f"GD, $h = {h:g}$")
        ax.plot(*gd[-1], marker="o", markersize=6, color=c, markeredgecolor="k", linestyle="none")
        q_ax.plot(h * np.arange(len(gd)), gd[:, 0] ** 2 - gd[:, 1] ** 2, marker="o",
                  markersize=3, color=c, linestyle="none", label=f"GD, $h = {h:g}$")
        q_ax.plot(times, igr[:, 0] ** 2 - igr[:, 1] ** 2, color=c, linestyle="--", linewidth=1.2)
    q_ax.plot([], [], color="0.3", linestyle="--", linewidth=1.2, label=r"flow of $L + \frac{h}{4}\|\nabla L\|^2$")
    ax.set(xlabel="$a$", ylabel="$b$", xlim=(0.25, 3.0), ylim=(0.25, 3.7), aspect="equal")
    ax.set_title("$L = (y - abx)^2/2$, $x = y = 1$, from $(2.8, 3.5)$")
    ax.legend(loc="upper left")
    q_ax.set(xlabel="time $t = nh$ (the runs go on to $t = %g$, flat)" % TWO_PARAMETER_TIME, ylabel="$a^2 - b^2$",
             xlim=(-0.02, 0.6), ylim=(-4.75, -3.95))
    q_ax.set_title("The flow conserves $a^2 - b^2$; GD shrinks $|a^2 - b^2|$")
    q_ax.legend(loc="lower right")

    steps, fits = two_parameter_local_errors()
    for k, (errors, fit) in fits.items():
        err.loglog(steps, errors, marker="o", markersize=4, color=f"C{k}",
                   label=f"order-{k} field: slope {fit.order:.2f} (theory {k + 2})")
    err.set(xlabel="step $h$", ylabel=r"$\|\theta_1^{\mathrm{GD}} - \varphi_h(\theta_0)\|_\infty$")
    err.xaxis.set_minor_formatter(NullFormatter())
    err.set_title("One GD step against the order-$k$ modified flow")
    err.legend(loc="lower right")
    return fig


@figure("igr_valley")
def igr_valley() -> Figure:
    """Left: the valley of UDL 9.2 with four descents. Middle: phi_0 against time for each.
    Right: GD on a quadratic either side of h lambda = 1 (the modified flow exists) and 2 (stability)."""
    problem, runs = valley_runs()
    fig = Figure(figsize=(13.5, 4.2), layout="constrained")
    ax, time_ax, quad = fig.subplots(1, 3, width_ratios=(1.0, 1.0, 1.0))
    p0, p1 = np.meshgrid(np.linspace(0.0, 1.0, 201), np.linspace(-0.6, 0.6, 201))
    loss = np.vectorize(lambda u, v: problem.value(np.array([u, v])))(p0, p1)
    ax.contourf(p0, p1, loss, levels=12, cmap="Greys", alpha=0.55)
    styles = ("-", ":", "--", "-.")
    for i, (label, path) in enumerate(runs.items()):
        ax.plot(path[:, 0], path[:, 1], color=f"C{i}", linestyle=styles[i], linewidth=1.2, label=label)
        ax.plot(*path[-1], marker="o", markersize=5, color=f"C{i}")
        t = np.linspace(0.0, VALLEY_TIME, len(path))
        time_ax.plot(t, path[:, 0], color=f"C{i}", linestyle=styles[i], linewidth=1.4, label=label)
    ax.set(xlabel=r"$\phi_0$", ylabel=r"$\phi_1$")
    ax.set_title(r"$L = 1 - e^{-\phi_1^2/2\sigma^2}$, $\sigma = e^{-2\phi_0^2}$: wide at $\phi_0 = 0$")
    time_ax.set(xlabel="time $t = nh$ (the runs go on to $t = %g$, flat)" % VALLEY_TIME, ylabel=r"$\phi_0$",
                xlim=(-0.05, 3.0))
    time_ax.set_title(r"Where each run settles along the valley floor")
    time_ax.legend(loc="upper right")

    for i, (hl, (gd, modified)) in enumerate(quadratic_runs().items()):
        n = np.arange(len(gd))
        quad.semilogy(n, np.abs(gd), marker="o", markersize=2.5, color=f"C{i}", linewidth=0.8,
                      label=rf"$h\lambda_{{\max}} = {hl:g}$")
        if modified is not None:
            quad.semilogy(n, np.abs(modified), color=f"C{i}", linestyle="--", linewidth=1.0)
    quad.plot([], [], color="0.3", linestyle="--", linewidth=1.0, label=r"modified flow ($h\lambda < 1$)")
    quad.set(xlabel="step $n$", ylabel=r"$|q_{\max}^\top \theta_n|$", ylim=(1e-14, 1e2))
    quad.set_title(r"Quadratic: $|1 - h\lambda|$ per step; unstable for $h\lambda > 2$")
    quad.legend(loc="lower left", ncols=2)
    return fig


#: What each panel of igr_digits shows: (key in the summary, axis label, the paper's predicted direction).
_DIGITS_PANELS = (
    ("r_ig_over_loss", r"$\Delta\,R_{IG}/L$, $R_{IG} = \|\nabla L\|^2$", "predicted: falls with $h$"),
    ("sharpness", r"$\Delta$ top Hessian eigenvalue", "predicted: falls with $h$"),
    ("test_accuracy", r"$\Delta$ test accuracy", "predicted: rises with $h$"),
    ("noise_increase", r"$\Delta$ test-loss increase under noise", "predicted: falls with $h$"),
)


@figure("igr_digits")
def igr_digits(results: dict | None = None) -> Figure:
    """A tanh MLP on the digits, full-batch GD trained to the same loss for each step h: the change of each
    quantity against GD at the smallest step of the same seed (mean and one standard deviation over seeds), with EGR at a small step standing in for a large one; the paper's prediction in
    each title. Reads the committed results (gc_theory/experiments/igr_digits.json) unless given others."""
    results = load_digits_results() if results is None else results
    rows = digits_summary(results)
    gd = sorted((r for r in rows if r["mu"] == 0.0), key=lambda r: r["h"])
    egr = [r for r in rows if r["mu"] > 0.0]
    init = np.array([run["sharpness_at_init"] for run in results["runs"]])
    fig = Figure(figsize=(15.0, 3.6), layout="constrained")
    h = np.array([r["h"] for r in gd])
    for ax, (key, label, prediction) in zip(fig.subplots(1, 4), _DIGITS_PANELS, strict=True):
        mean = np.array([r[f"{key}_delta"] for r in gd])
        std = np.array([r[f"{key}_delta_std"] for r in gd])
        ax.errorbar(h, mean, yerr=std, marker="o", markersize=4, capsize=3, color="C0", label="GD at step $h$")
        for r in egr:
            replaced = results["egr"][1]
            ax.errorbar([replaced], [r[f"{key}_delta"]], yerr=[r[f"{key}_delta_std"]], marker="s", markersize=6,
                        capsize=3,
                        color="C3", linestyle="none",
                        label=rf"EGR: $h = {r['h']:g}$, $\mu = {r['mu']:g}$ (for $h = {replaced:g}$)")
        ax.axvspan(2.0 / init.max(), 2.0 / init.min(), color="0.85", zorder=0, label=r"$2/S_0$ over seeds")
        ax.axhline(0.0, color="0.5", linewidth=0.8)
        ax.set_xscale("log")
        ax.set(xlabel="step $h$", ylabel=label)
        ax.set_title(prediction, fontsize=9)
        if key == "r_ig_over_loss":
            ax.legend(loc="lower left", fontsize=7)
    fig.suptitle(f"Tanh MLP ({results['hidden']} hidden) on the digits, full batch, trained to loss "
                 f"{results['target_loss']:g}; change against $h = {h.min():g}$ on the same seed, {len(results['seeds'])} seeds, noise $\\sigma = {results['noise']:g}$",
                 fontsize=10)
    return fig
