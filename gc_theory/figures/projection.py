"""The geometry of P for M = 3: gradients projected onto the plane x + y + z = 0."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from gc_theory.gc.centralization import centralize, unit_vector
from . import as_plain, figure

SEED = 3


def projection_example(n: int = 4, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """`n` gradient vectors in R^3 (rows, non-zero mean) and their GC projections."""
    rng = np.random.default_rng(seed)
    g = rng.uniform(-1.0, 1.0, size=(n, 3)) + rng.uniform(0.4, 0.9, size=(n, 1))
    return g, centralize(g)


SIZES = (3, 64)


def projection_geometry_data(seed: int = SEED) -> dict[str, np.ndarray]:
    """The arrays :func:`projection_geometry` plots.

    Returns
    -------
    dict
        ``g`` (4, 3): the gradients; ``Pg`` (4, 3): their projections;
        ``e`` (3,): the unit vector 1/sqrt(3); and for each size M in
        ``SIZES`` (3 and 64), ``gap_rhs_M{M}`` (150,): M * mean(g)^2 and
        ``gap_lhs_M{M}`` (150,): ||g||^2 - ||Pg||^2, for 150 random gradients.
    """
    g, pg = projection_example(seed=seed)
    out = {"g": g, "Pg": pg, "e": np.asarray(unit_vector(3))}
    rng = np.random.default_rng(seed)
    for M in SIZES:
        vectors = rng.standard_normal((150, M)) + rng.standard_normal((150, 1))
        out[f"gap_lhs_M{M}"] = (vectors**2).sum(axis=1) - (centralize(vectors) ** 2).sum(axis=1)
        out[f"gap_rhs_M{M}"] = M * vectors.mean(axis=1) ** 2
    return as_plain(out)


def draw_projection_geometry(data: dict[str, np.ndarray], figsize: tuple[float, float] = (9.6, 4.2)) -> Figure:
    """Draw :func:`projection_geometry` from `data` (the dict :func:`projection_geometry_data` returns)."""
    g, pg, e = data["g"], data["Pg"], data["e"]
    fig = Figure(figsize=figsize, layout="constrained")
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
    for M, marker in zip(SIZES, ("o", "s"), strict=True):
        gap.loglog(data[f"gap_rhs_M{M}"], data[f"gap_lhs_M{M}"], marker, markersize=3.5, alpha=0.7, linestyle="none", label=f"M = {M}")
    lim = np.array(gap.get_xlim())
    gap.loglog(lim, lim, color="k", linewidth=0.8, label="equality")
    gap.set(xlabel=r"$M\,\bar g^{2}$", ylabel=r"$\|g\|^2 - \|Pg\|^2$")
    gap.set_title(r"$\|g\|^2 - \|Pg\|^2 = M\bar g^2 \geq 0$: GC never lengthens $g$")
    gap.legend(loc="upper left")
    return fig


@figure("projection_geometry", data=projection_geometry_data)
def projection_geometry(seed: int = SEED, figsize: tuple[float, float] = (9.6, 4.2)) -> Figure:
    """Left: gradients g (solid) and P g (dashed, on the plane e^T x = 0), joined along e.
    Right: the norm removed by P equals M * mean(g)^2, for random gradients of two sizes."""
    return draw_projection_geometry(projection_geometry_data(seed), figsize=figsize)
