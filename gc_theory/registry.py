"""One registry mechanism for claims, figures and benchmarks.

A :class:`Registry` maps names to objects registered by the modules of one
package. Those modules are imported once, on first use (:meth:`Registry.discover`),
so adding a figure, a benchmark or an area of claims means adding a module:
no central list to edit.

Selecting by pattern
--------------------
Every ``--only PATTERN`` of the command line, and every ``select`` in the
package, follows one rule (:func:`matches`):

* a pattern with a wildcard (``*``, ``?`` or ``[``) is a glob over the whole
  name: ``gc.P.*``, ``*invariance*``;
* otherwise it names whole components: the name itself, or a prefix that ends
  where a component ends, at a ``.`` or a ``_``. ``gc.P`` selects
  ``gc.P.symmetric`` but not ``gc.Pfoo``; ``projection`` selects the figure
  ``projection_geometry``; ``gc.P.sym`` selects nothing (use ``gc.P.sym*``).
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import pkgutil
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

__all__ = ["Registry", "closest", "matches"]

T = TypeVar("T")
#: Characters that end a component of a name.
SEPARATORS = "._"


def matches(name: str, pattern: str | None) -> bool:
    """Whether `name` is selected by `pattern` (None or "" selects everything)."""
    if not pattern:
        return True
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatchcase(name, pattern)
    if name == pattern:
        return True
    stem = pattern.rstrip(SEPARATORS)
    return name.startswith(stem) and len(name) > len(stem) and name[len(stem)] in SEPARATORS


def closest(pattern: str, names: Iterable[str], n: int = 3) -> list[str]:
    """The names most like `pattern`, for a "did you mean" in an error message."""
    names = list(names)
    started = [x for x in names if x.startswith(pattern)]
    return (started + [x for x in difflib.get_close_matches(pattern, names, n=n, cutoff=0.5) if x not in started])[:n]


class Registry(Generic[T]):
    """Named objects registered by the modules of one package, discovered on first use.

    Parameters
    ----------
    kind : str
        What is registered ("claim", "figure", "benchmark"), used in messages.
    package : str
        The package whose public modules (names not starting with ``_``)
        register into this registry when imported.
    order : tuple of str
        Modules imported first, in this order; the rest follow alphabetically.
        Registration order is the order :meth:`names` returns.
    """

    def __init__(self, kind: str, package: str, order: tuple[str, ...] = ()) -> None:
        self.kind, self.package, self.order = kind, package, order
        self._items: dict[str, T] = {}
        self._discovered = False

    def register(self, name: str, item: T) -> T:
        """Add `item` under `name`; a name registered twice is a ValueError."""
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._items[name] = item
        return item

    def decorator(self, name: str, wrap: Callable[[T], T] | None = None) -> Callable[[T], T]:
        """``@registry.decorator(name)`` registers the decorated object (optionally wrapped) and returns it."""

        def add(item: T) -> T:
            return self.register(name, wrap(item) if wrap else item)

        return add

    def discover(self) -> None:
        """Import every public module of the package once, so that it registers."""
        if self._discovered:
            return
        package = importlib.import_module(self.package)
        modules = [m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_")]
        modules.sort(key=lambda m: (self.order.index(m) if m in self.order else len(self.order), m))
        for module in modules:
            importlib.import_module(f"{self.package}.{module}")
        self._discovered = True

    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        self.discover()
        return list(self._items)

    def items(self) -> dict[str, T]:
        self.discover()
        return dict(self._items)

    def get(self, name: str) -> T:
        """The object registered as `name`; a KeyError naming the closest names otherwise."""
        self.discover()
        if name not in self._items:
            near = closest(name, self._items)
            hint = f"; did you mean {', '.join(near)}?" if near else f"; known: {', '.join(self._items)}"
            raise KeyError(f"no {self.kind} {name!r}{hint}")
        return self._items[name]

    def select(self, pattern: str | None = None) -> list[str]:
        """The names selected by `pattern` (see :func:`matches`), in registration order."""
        return [n for n in self.names() if matches(n, pattern)]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())
