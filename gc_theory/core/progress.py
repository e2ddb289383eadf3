"""Progress bars for long work: shown on a terminal, silent otherwise."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TypeVar

# tqdm.auto would pick the Jupyter widget and warn when ipywidgets is absent; a bar
# is only shown on a terminal anyway, so the plain text bar is the one needed.
from tqdm import tqdm

T = TypeVar("T")

__all__ = ["progress"]


def progress(items: Iterable[T], desc: str, *, total: int | None = None, enabled: bool | None = None) -> Iterable[T]:
    """Wrap `items` in a tqdm bar on stderr when stderr is a terminal (or `enabled`)."""
    show = sys.stderr.isatty() if enabled is None else enabled
    return tqdm(items, desc=desc, total=total, disable=not show, leave=False, file=sys.stderr)
