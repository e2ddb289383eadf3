"""Inline display of figures in Jupyter without pyplot.

Figure functions build :class:`matplotlib.figure.Figure` objects directly,
with no pyplot state, so IPython has no image formatter for them unless the
inline backend happened to be activated, and a notebook cell shows
``<Figure size ... with N Axes>`` instead of the picture. Importing
:mod:`gc_theory.figures` inside IPython registers a PNG formatter for every
matplotlib figure, drawn in the package style at the style's resolution, so a
reader sees the image with no set-up of their own.
"""

from __future__ import annotations

import io
import sys
from typing import Any

__all__ = ["enable_inline_display", "png_bytes"]


def png_bytes(fig: Any) -> bytes:
    """The figure as PNG bytes, tight-cropped like the files ``gc-theory figures`` writes."""
    from . import style  # the package style sets the resolution and the tight crop at save time

    buffer = io.BytesIO()
    with style():
        fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def enable_inline_display() -> bool:
    """Register the PNG formatter when running under IPython; True if it is registered.

    An existing formatter for figures (the inline backend's) is kept: it
    already shows the image.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return False
    from matplotlib.figure import Figure

    formatter = shell.display_formatter.formatters["image/png"]
    try:
        formatter.lookup_by_type(Figure)
    except KeyError:
        formatter.for_type(Figure, png_bytes)
    return True
