"""Progress bars for long work: shown on a terminal, silent otherwise."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TypeVar

# The plain text bar: tqdm.auto would look for ipywidgets in a notebook and warn
# when it is absent, and a notebook's stderr is no terminal anyway.
from tqdm import tqdm

T = TypeVar("T")

__all__ = ["progress"]


def progress(items: Iterable[T], desc: str, *, total: int | None = None, enabled: bool | None = None) -> Iterable[T]:
    """Wrap `items` in a tqdm bar on stderr when stderr is a terminal (or `enabled`)."""
    show = sys.stderr.isatty() if enabled is None else enabled
    return tqdm(items, desc=desc, total=total, disable=not show, leave=False, file=sys.stderr)
