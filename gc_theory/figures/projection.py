"""The geometry of P for M = 3: gradients projected onto the plane x + y + z = 0."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from gc_theory.gc.centralization import centralize, unit_vector
from . import figure

SEED = 3


def projection_example(n: int = 4, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """`n` gradient vectors in R^3 (rows, non-zero mean) and their GC projections."""
    rng = np.random.default_rng(seed)
    g = rng.uniform(-1.0, 1.0, size=(n, 3)) + rng.uniform(0.4, 0.9, size=(n, 1))
    return g, centralize(g)


@figure("projection_geometry")
def projection_geometry(seed: int = SEED) -> Figure:
    """Left: gradients g (solid) and P g (dashed, on the plane e^T x = 0), joined along e.
    Right: the norm removed by P equals M * mean(g)^2, for random gradients of two sizes."""
    g, pg = projection_example(seed=seed)
    e = unit_vector(3)
    fig = Figure(figsize=(9.6, 4.2), layout="constrained")
    # The 3-D axes draw their z label outside their box: keep a gap so it never meets the right panel.
    fig.get_layout_engine().set(wspace=0.12)
    ax = fig.add_subplot(1, 2, 1, projection="3d")
    s = np.linspace(-1.2, 1.2, 2)
    X, Y = np.meshgrid(s, s)
    ax.plot_surface(X, Y, -X - Y, alpha=0.15, color="0.4", linewidth=0)
    colors = [f"C{i}" for i in range(len(g))]
    for gi, pi, c in zip(g, pg, colors, strict=True):
        ax.quiver(0, 0, 0, *gi, color=c, arrow_length_ratio=0.12, linewidth=1.6)
        ax.quiver(0, 0, 0, *pi, color=c, arrow_length_ratio=0.12, linewidth=1.6, linestyle="--")
        ax.plot(*np.stack([gi, pi]).T, color=c, linewidth=0.8, linestyle=":")
    ax.quiver(0, 0, 0, *e, color="k", arrow_length_ratio=0.15, linewidth=1.2)
    ax.text(*(1.1 * e), "e", fontsize=10)
    ax.set(xlabel="$x$", ylabel="$y$", zlabel="$z$", xlim=(-1.2, 1.2), ylim=(-1.2, 1.2), zlim=(-1.2, 1.8))
    ax.view_init(elev=18, azim=-60)
    ax.set_box_aspect(None, zoom=0.88)
    ax.set_title("$g$ (solid) and $Pg$ (dashed) on the plane $x+y+z=0$")

    # The Pythagoras identity behind ||P g|| <= ||g|| (claim gc.P.norm_gap), for two sizes.
    gap = fig.add_subplot(1, 2, 2)
    gap.yaxis.labelpad = 10
    rng = np.random.default_rng(seed)
    for M, marker in ((3, "o"), (64, "s")):
        vectors = rng.standard_normal((150, M)) + rng.standard_normal((150, 1))
        lhs = (vectors**2).sum(axis=1) - (centralize(vectors) ** 2).sum(axis=1)
        rhs = M * vectors.mean(axis=1) ** 2
        gap.loglog(rhs, lhs, marker, markersize=3.5, alpha=0.7, linestyle="none", label=f"M = {M}")
    lim = np.array(gap.get_xlim())
    gap.loglog(lim, lim, color="k", linewidth=0.8, label="equality")
    gap.set(xlabel=r"$M\,\bar g^{2}$", ylabel=r"$\|g\|^2 - \|Pg\|^2$")
    gap.set_title(r"$\|g\|^2 - \|Pg\|^2 = M\bar g^2 \geq 0$: GC never lengthens $g$")
    gap.legend(loc="upper left")
    return fig
