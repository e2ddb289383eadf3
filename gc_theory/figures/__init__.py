"""Figures: one function per figure, a package style, fixed seeds, atomic writes.

Each public module here defines figure functions with the :func:`figure`
decorator. A figure function takes no required arguments and returns a
:class:`matplotlib.figure.Figure` (built without pyplot, so no global state),
which a notebook displays and ``gc-theory figures`` saves as
``figures/<name>.png``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gc_theory.core.io import atomic_write
from ._display import enable_inline_display
from gc_theory.core.progress import progress
from gc_theory.core.registry import Registry

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FIGURES", "figure", "get", "names", "render", "render_all", "select", "style"]

FigureFunction = Callable[[], "Figure"]

#: Every figure, registered by the public modules of this package when imported.
FIGURES: Registry[FigureFunction] = Registry("figure", __name__)


def figure(name: str) -> Callable[[FigureFunction], FigureFunction]:
    """Register a figure function under `name` (the PNG's file name without suffix).

    The function is wrapped so that it always draws in the package style.
    """

    def register(fn: FigureFunction) -> FigureFunction:
        def styled(*args: Any, **kwargs: Any) -> Figure:
            with style():
                return fn(*args, **kwargs)

        styled.__name__, styled.__doc__, styled.__wrapped__ = fn.__name__, fn.__doc__, fn  # type: ignore[attr-defined]
        return FIGURES.register(name, styled)

    return register


@contextmanager
def style() -> Any:
    """The package's matplotlib style, as a context."""
    import matplotlib.pyplot as plt

    path = resources.files(__package__) / "gc_theory.mplstyle"
    with resources.as_file(path) as p, plt.style.context(str(p)):
        yield


def names() -> list[str]:
    """Every figure name, sorted."""
    return sorted(FIGURES.names())


def get(name: str) -> FigureFunction:
    """The figure function `name`; a KeyError naming the closest figures otherwise."""
    return FIGURES.get(name)


def select(pattern: str | None = None) -> list[str]:
    """Figure names matching `pattern`, sorted: a glob, an exact name or a dotted prefix (:mod:`gc_theory.core.registry`)."""
    return sorted(FIGURES.select(pattern))


def render(name: str, out_dir: str | os.PathLike[str] = "figures") -> Path:
    """Draw figure `name` and write ``<out_dir>/<name>.png`` atomically.

    PNG metadata carries no software version or date, so the same code and
    libraries write the same bytes.
    """
    path = Path(out_dir) / f"{name}.png"
    with style():  # savefig reads its dpi and bbox settings at save time
        fig = get(name)()
        atomic_write(path, lambda f: fig.savefig(f, format="png", metadata={"Software": None}))
    return path


def render_all(selected: Iterable[str] | None = None, out_dir: str | os.PathLike[str] = "figures") -> list[Path]:
    """Render every selected figure (all by default), with a progress bar on a terminal."""
    chosen = list(names() if selected is None else selected)
    return [render(n, out_dir) for n in progress(chosen, "figures")]


enable_inline_display()
