"""Gradient checking: the error-vs-h "V", the shrink-h diagnosis and a kink."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from gc_theory.verify.context import Context
from gc_theory.gradcheck import derivative
from gc_theory.gradcheck.curves import model_step, rms_error_curve
from . import figure

METHODS = (("forward", "C0", 1.0), ("central", "C1", 2.0), ("richardson", "C2", 4.0), ("complex", "C3", None))


def _slope_mark(ax, hs: np.ndarray, errors: np.ndarray, slope: float, color: str, where: float) -> None:
    """A short reference line of the given slope through the curve at fraction `where` of its range."""
    k = int(where * (len(hs) - 1))
    h0, e0 = hs[k], errors[k]
    span = np.array([h0 / 6, h0 * 6]) if slope < 0 else np.array([h0 / 6, h0])
    ax.loglog(span, e0 * 3 * (span / h0) ** slope, color=color, linestyle=":", linewidth=1.2)
    ax.text(span[0], e0 * 3 * (span[0] / h0) ** slope, f" slope {slope:g}", color=color, fontsize=8, va="bottom")


@figure("gradcheck_error_vs_h")
def gradcheck_error_vs_h() -> Figure:
    """Left: RMS relative error of f' for f = exp at 256 points in [0.5, 1.5], float64, against the relative
    step h, for four methods; dotted lines mark the slopes of the error model, triangles its h*.
    Middle: the shrink-h test on a correct and a wrong derivative. Right: one-sided differences at a kink."""
    ctx = Context.create("numpy", "float64", 0, "figure.gradcheck")
    points = ctx.asarray(np.linspace(0.5, 1.5, 256))
    hs = np.geomspace(1e-13, 0.5, 75)
    fig = Figure(figsize=(13.0, 4.3), layout="constrained")
    ax = fig.add_subplot(1, 3, 1)
    for method, color, slope in METHODS:
        curve = np.maximum(rms_error_curve(points, method, hs), 1e-17)
        # Complex step and central difference coincide to the right of h*: dash the complex step, draw it below.
        dashed = {"linestyle": (0, (4, 3)), "zorder": 1} if method == "complex" else {"zorder": 2}
        ax.loglog(hs, curve, color=color, label=method, **dashed)
        if method != "complex":
            h_star = model_step(points, method)
            e_star = float(np.interp(np.log(h_star), np.log(hs), curve))
            ax.plot([h_star], [e_star], marker="v", color=color, markersize=9, markeredgecolor="k")
            trunc = hs[(hs > 10 * h_star) & (hs < 0.3)]
            if trunc.size > 3:
                _slope_mark(ax, trunc, np.interp(trunc, hs, curve), slope, color, 0.3)
    rounding = hs[(hs > 1e-12) & (hs < 1e-9)]
    _slope_mark(ax, rounding, np.interp(rounding, hs, rms_error_curve(points, "central", hs)), -1.0, "0.3", 0.5)
    ax.axhline(np.finfo(float).eps, color="0.5", linewidth=0.8, linestyle="--")
    ax.text(hs[0], np.finfo(float).eps * 1.5, "machine eps", fontsize=8, color="0.4")
    ax.set(xlabel="relative step h", ylabel="RMS relative error of f'", ylim=(1e-17, 10))
    ax.set_title("the V: truncation (right) vs rounding (left); v = model h*")
    ax.legend(loc="lower right", fontsize=8)

    # The shrink-h diagnosis: error of a correct and of a 1%-wrong derivative as h shrinks.
    mid = fig.add_subplot(1, 3, 2)
    x = np.array([1.0])
    hs2 = np.geomspace(1e-7, 1e-1, 40)
    right = np.array([abs(derivative(np.exp, x, "central", h).value[0] / np.e - 1) for h in hs2])
    wrong = np.array([abs(derivative(np.exp, x, "central", h).value[0] / (1.01 * np.e) - 1) for h in hs2])
    mid.loglog(hs2, right, color="C1", label="correct gradient")
    mid.loglog(hs2, wrong, color="C3", label="gradient 1% wrong (bug)")
    for h, color in ((1e-2, "C1"), (1e-3, "C1")):
        mid.plot([h], [float(np.interp(np.log(h), np.log(hs2), right))], "o", color=color)
    mid.annotate("h -> h/10: error / 100\n(truncation: shrink h)", xy=(1e-3, 2e-7), xytext=(2e-7, 1e-5), fontsize=8,
                 arrowprops={"arrowstyle": "->", "color": "0.3"})  # fmt: skip
    mid.annotate("h -> h/10: error unchanged\n(a bug)", xy=(1e-3, 1e-2), xytext=(1e-7, 3e-3), fontsize=8,
                 arrowprops={"arrowstyle": "->", "color": "0.3"})  # fmt: skip
    mid.set(xlabel="relative step h", ylabel="relative error of f'(1), f = exp", ylim=(1e-12, 1))
    mid.set_title("shrink h by 10: correct falls 100x, bug stays")
    mid.legend(loc="lower right", fontsize=8)

    # A kink: the gap between one-sided differences vanishes like h for a smooth f, not at a kink.
    kink = fig.add_subplot(1, 3, 3)
    hs3 = np.geomspace(1e-8, 1e-1, 30)
    smooth = [abs((np.sin(0.3 + h) - np.sin(0.3)) / h - (np.sin(0.3) - np.sin(0.3 - h)) / h) for h in hs3]
    relu = [abs((max(h, 0.0) - 0.0) / h - (0.0 - max(-h, 0.0)) / h) for h in hs3]
    kink.loglog(hs3, smooth, color="C1", label="smooth: sin at 0.3 (gap ~ |f''| h)")
    kink.loglog(hs3, relu, color="C3", label="kink: ReLU at 0 (gap = jump = 1)")
    kink.set(xlabel="step h", ylabel="|D+(h) - D-(h)|", ylim=(1e-10, 10))
    kink.set_title("one-sided differences: a kink is not a bug")
    kink.legend(loc="lower right", fontsize=8)
    return fig
