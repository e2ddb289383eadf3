"""Figures: one function per figure, a package style, fixed seeds, atomic writes.

Each public module here defines figure functions with the :func:`figure`
decorator. A figure function takes no required arguments and returns a
:class:`matplotlib.figure.Figure` (built without pyplot, so no global state),
which a notebook displays and ``gc-theory figures`` saves as
``figures/<name>.<format>`` in PNG, PDF or SVG.

What a figure module provides
-----------------------------
The minimum, enough to be rendered in every format, style and width::

    @figure("my_figure")
    def my_figure() -> Figure: ...

To also hand out the numbers it plots (:func:`data`), a module splits the
figure in two and names the data function in the decorator::

    def my_figure_data() -> dict[str, np.ndarray | float]: ...   # documented keys

    @figure("my_figure", data=my_figure_data)
    def my_figure(figsize=None) -> Figure:
        return draw_my_figure(my_figure_data(), figsize=figsize)

The drawing function plots only what the data function returns, so the two
can never disagree. A figure with a single panel also takes ``ax`` (draw into
the caller's axes); one with several takes ``figsize``. A figure registered
without ``data=`` still renders; :func:`data` raises a ``LookupError`` for it.

The package style is registered with matplotlib on import, so
``plt.style.use("gc_theory")`` works in a user's own plots.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gc_theory.core.io import atomic_write
from ._display import enable_inline_display
from gc_theory.core.progress import progress
from gc_theory.core.registry import Registry

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "FIGURES",
    "FORMATS",
    "STYLE_NAME",
    "data",
    "figure",
    "get",
    "has_data",
    "names",
    "render",
    "render_all",
    "resolve_style",
    "select",
    "style",
    "style_names",
]

FigureFunction = Callable[..., "Figure"]
DataFunction = Callable[..., dict[str, Any]]

#: Every figure, registered by the public modules of this package when imported.
FIGURES: Registry[FigureFunction] = Registry("figure", __name__)

#: The formats :func:`render` writes.
FORMATS = ("png", "pdf", "svg")

#: The name the package style is registered under in matplotlib's style library.
STYLE_NAME = "gc_theory"

#: The value of ``style=`` (and ``--style``) that means matplotlib's own defaults.
NO_STYLE = "none"

# Fixed salt: SVG element ids are hashes of this and the content, so they do not change between runs.
_SVG_HASHSALT = "gc-theory"

# Metadata that would make two renders of the same figure differ (dates, versions) is left out.
_METADATA: dict[str, dict[str, None]] = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None},
    "svg": {"Creator": None, "Date": None},
}

_DATA: dict[str, DataFunction] = {}


def figure(name: str, data: DataFunction | None = None) -> Callable[[FigureFunction], FigureFunction]:
    """Register a figure function under `name` (the file name without suffix).

    Parameters
    ----------
    name : str
        The figure's name.
    data : callable, optional
        A function returning the arrays the figure plots (see :func:`data`).

    Returns
    -------
    callable
        A decorator; the function it returns always draws in the package style
        when called directly, and keeps the undecorated one as ``__wrapped__``.
    """

    def register(fn: FigureFunction) -> FigureFunction:
        def styled(*args: Any, **kwargs: Any) -> Figure:
            with style():
                return fn(*args, **kwargs)

        styled.__name__, styled.__doc__, styled.__wrapped__ = fn.__name__, fn.__doc__, fn  # type: ignore[attr-defined]
        registered = FIGURES.register(name, styled)
        if data is not None:
            _DATA[name] = data
        return registered

    return register


def _style_path() -> Any:
    return resources.files(__package__) / "gc_theory.mplstyle"


def _register_style() -> None:
    """Add the package style to matplotlib's style library, so ``plt.style.use("gc_theory")`` works."""
    import matplotlib.style
    from matplotlib import rc_params_from_file

    with resources.as_file(_style_path()) as p:
        params = rc_params_from_file(str(p), use_default_template=False)
    matplotlib.style.library[STYLE_NAME] = params
    if STYLE_NAME not in matplotlib.style.available:
        matplotlib.style.available.append(STYLE_NAME)
        matplotlib.style.available.sort()


def style_names() -> list[str]:
    """Every style name :func:`resolve_style` accepts: ``none``, the package style and matplotlib's."""
    import matplotlib.style

    _register_style()
    return [NO_STYLE, *sorted(set(matplotlib.style.available))]


def resolve_style(spec: str | os.PathLike[str] | None = None) -> str:
    """The matplotlib style specification for `spec`, checked before anything is drawn.

    Parameters
    ----------
    spec : str or path-like, optional
        ``None`` for the package style, ``"none"`` for matplotlib's defaults, a
        style name in ``matplotlib.style.available`` or the path of a
        ``.mplstyle`` file.

    Returns
    -------
    str
        A name or path that :func:`matplotlib.style.context` accepts.

    Raises
    ------
    ValueError
        If `spec` is neither a known style name nor an existing file; the
        message lists the available names.

    Examples
    --------
    >>> from gc_theory.figures import resolve_style
    >>> resolve_style(), resolve_style("none")
    ('gc_theory', 'default')
    """
    if spec is None:
        _register_style()
        return STYLE_NAME
    text = os.fspath(spec)
    if not isinstance(text, str):
        raise TypeError(f"style: expected a style name or a path, got {type(spec).__name__}")
    if text in (NO_STYLE, "default"):  # "default" is matplotlib's own name for its defaults
        return "default"
    if text in style_names():
        return text
    if Path(text).is_file():
        return text
    raise ValueError(f"style {text!r}: neither a style name nor an .mplstyle file; available: {', '.join(style_names())}")


@contextmanager
def style(spec: str | os.PathLike[str] | None = None) -> Any:
    """A matplotlib style as a context: the package's by default (see :func:`resolve_style`)."""
    import matplotlib.pyplot as plt

    with plt.style.context(resolve_style(spec)):
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


def has_data(name: str) -> bool:
    """Whether figure `name` hands out its data through :func:`data`."""
    get(name)
    return name in _DATA


def data(name: str) -> dict[str, Any]:
    """The arrays figure `name` plots, for users who draw their own.

    Parameters
    ----------
    name : str
        A registered figure name (:func:`names`).

    Returns
    -------
    dict
        Plain NumPy arrays and Python floats, under the keys that the figure's
        data function documents (``help(gc_theory.figures.<module>)``).

    Raises
    ------
    KeyError
        If no figure is called `name`.
    LookupError
        If the figure is registered without a data function.

    Examples
    --------
    >>> from gc_theory import figures
    >>> d = figures.data("projection_geometry")
    >>> d["g"].shape, d["Pg"].shape
    ((4, 3), (4, 3))
    """
    get(name)  # an unknown name gets the registry's message, with the closest names
    if name not in _DATA:
        with_data = ", ".join(n for n in names() if n in _DATA) or "none"
        raise LookupError(f"figure {name!r} has no data function; figures with data: {with_data}")
    return _DATA[name]()


def _check_width(width: float | None) -> float | None:
    if width is None:
        return None
    if isinstance(width, bool) or not isinstance(width, (int, float, np.floating, np.integer)):
        raise TypeError(f"width: expected a number of inches, got {type(width).__name__}")
    if not math.isfinite(width) or width <= 0:
        raise ValueError(f"width: must be a finite number of inches > 0, got {width}")
    return float(width)


def _check_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    chosen = (formats,) if isinstance(formats, str) else tuple(formats)
    if not chosen:
        raise ValueError(f"formats: empty; choose from {', '.join(FORMATS)}")
    for f in chosen:
        if f not in FORMATS:
            raise ValueError(f"formats: {f!r} is not one of {', '.join(FORMATS)}")
    return tuple(dict.fromkeys(chosen))


def render(
    name: str,
    out_dir: str | os.PathLike[str] = "figures",
    *,
    formats: str | Iterable[str] = "png",
    style_spec: str | os.PathLike[str] | None = None,
    width: float | None = None,
) -> Path:
    """Draw figure `name` and write ``<out_dir>/<name>.<format>`` atomically for each format.

    Parameters
    ----------
    name : str
        A registered figure name.
    out_dir : path-like
        The output folder.
    formats : str or iterable of str
        Any of ``"png"``, ``"pdf"``, ``"svg"``.
    style_spec : str or path-like, optional
        See :func:`resolve_style`; the package style by default.
    width : float, optional
        Width in inches; the height scales with it, so the aspect ratio stays.

    Returns
    -------
    pathlib.Path
        The path of the first format written.

    Notes
    -----
    The files carry no software version or date, and SVG ids are hashed with a
    fixed salt, so the same code and libraries write the same bytes.
    """
    import matplotlib

    chosen, width = _check_formats(formats), _check_width(width)
    spec = resolve_style(style_spec)
    paths = []
    # The style is active while drawing and while saving: savefig reads its dpi and bbox settings at save time.
    with style(spec), matplotlib.rc_context({"svg.hashsalt": _SVG_HASHSALT}):
        fn = get(name)
        fig = getattr(fn, "__wrapped__", fn)()
        if width is not None:
            w, h = fig.get_size_inches()
            fig.set_size_inches(width, width * h / w)
        for fmt in chosen:
            path = Path(out_dir) / f"{name}.{fmt}"
            atomic_write(path, lambda f, fmt=fmt: fig.savefig(f, format=fmt, metadata=_METADATA[fmt]))
            paths.append(path)
    return paths[0]


def render_all(
    selected: Iterable[str] | None = None,
    out_dir: str | os.PathLike[str] = "figures",
    *,
    formats: str | Iterable[str] = "png",
    style_spec: str | os.PathLike[str] | None = None,
    width: float | None = None,
) -> list[Path]:
    """Render every selected figure (all by default) in every format, with a progress bar on a terminal.

    Returns every path written, figure by figure and format by format.
    """
    chosen, width = _check_formats(formats), _check_width(width)
    resolve_style(style_spec)  # a bad style fails before the first figure is drawn
    out: list[Path] = []
    for n in progress(list(names() if selected is None else selected), "figures"):
        first = render(n, out_dir, formats=chosen, style_spec=style_spec, width=width)
        out.extend(first.with_suffix(f".{fmt}") for fmt in chosen)
    return out


def as_plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` with every array a NumPy array and every scalar a Python float."""
    return {k: (float(v) if np.ndim(v) == 0 else np.asarray(v)) for k, v in values.items()}


_register_style()
enable_inline_display()
