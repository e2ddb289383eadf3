"""One registry mechanism for claims, figures and benchmarks.

A :class:`Registry` holds named entries of one kind, registered by the modules
of one package (its *areas*) when they are imported. Discovery imports every
public module of the package once, in a stated order, so a new area is picked
up by adding its module and nothing else.

Selecting entries
-----------------
Every ``--only PATTERN`` of the command line and every ``select(pattern)`` of
the library means the same thing:

- no pattern (None or ``""``): every entry, in registration order;
- a pattern with a wildcard (``*``, ``?`` or ``[``) is a glob over the whole
  name: ``gc.P.*``, ``*.idempotent``;
- any other pattern is an exact name or a *dotted prefix* made of whole
  components: ``gc.P`` (or ``gc.P.``) selects ``gc.P.symmetric`` but neither
  ``gc.Pfoo`` nor ``gc.P_other``; ``gc.P.sym`` selects nothing, because
  ``sym`` is not a whole component (write ``gc.P.sym*``).

A pattern that selects nothing is an error the caller reports with the
closest names (:meth:`Registry.closest`).
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import pkgutil
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

__all__ = ["Registry", "matches"]

T = TypeVar("T")

_WILDCARDS = frozenset("*?[")


def matches(name: str, pattern: str | None) -> bool:
    """Whether `name` is selected by `pattern` (see the module docstring for the rule)."""
    if not pattern:
        return True
    if _WILDCARDS.intersection(pattern):
        return fnmatch.fnmatchcase(name, pattern)
    prefix = pattern.rstrip(".")
    return name == prefix or name.startswith(prefix + ".")


class Registry(Generic[T]):
    """Named entries of one kind, registered by the public modules of `package`.

    Parameters
    ----------
    kind : str
        What an entry is ("claim", "figure", "benchmark"), used in messages.
    package : str
        The package whose public modules register entries when imported.
    order : sequence of str
        Module names imported first, in this order; every other public module
        follows alphabetically. This is the one list of areas.
    """

    def __init__(self, kind: str, package: str, order: Sequence[str] = ()) -> None:
        self.kind = kind
        self.package = package
        self.order = tuple(order)
        self._entries: dict[str, T] = {}
        self._loaded = False

    def register(self, name: str, entry: T) -> T:
        """Add `entry` under `name`; a name registered twice is a ValueError."""
        if not isinstance(name, str) or not name:
            raise TypeError(f"{self.kind} name must be a non-empty str, got {name!r}")
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry
        return entry

    def decorator(self, name: str, wrap: Callable[[T], T] | None = None) -> Callable[[T], T]:
        """A decorator registering the decorated object (after `wrap`, if given) under `name`."""

        def register(entry: T) -> T:
            return self.register(name, entry if wrap is None else wrap(entry))

        return register

    def load(self) -> None:
        """Import every public module of the package once, so that its entries register."""
        if self._loaded:
            return
        root = importlib.import_module(self.package)
        names = [m.name for m in pkgutil.iter_modules(root.__path__) if not m.name.startswith("_")]
        rank = {n: i for i, n in enumerate(self.order)}
        for name in sorted(names, key=lambda n: (rank.get(n, len(rank)), n)):
            importlib.import_module(f"{self.package}.{name}")
        self._loaded = True

    def entries(self) -> dict[str, T]:
        """Every entry by name, in registration order (a copy)."""
        self.load()
        return dict(self._entries)

    def names(self) -> list[str]:
        """Every name, in registration order."""
        return list(self.entries())

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.entries())

    def __contains__(self, name: object) -> bool:
        return name in self.entries()

    def get(self, name: str) -> T:
        """The entry `name`; a KeyError naming the closest known names otherwise."""
        if not isinstance(name, str):
            raise TypeError(f"name must be a {self.kind} name (str), got {type(name).__name__}")
        entries = self.entries()
        if name not in entries:
            raise KeyError(f"no {self.kind} {name!r}; {self._suggest(name)}")
        return entries[name]

    def select(self, pattern: str | None = None) -> list[str]:
        """Names selected by `pattern`, in registration order (the rule is in the module docstring)."""
        return [n for n in self.entries() if matches(n, pattern)]

    def closest(self, pattern: str, n: int = 5) -> list[str]:
        """Up to `n` names closest to `pattern`.

        First the names that share its longest leading text, trying whole
        components from the right (``gc.P.symetric`` -> ``gc.P``), in registry
        order; then similar spellings.
        """
        names = self.names()
        parts = pattern.rstrip(".*?[").split(".")
        extending: list[str] = []
        for k in range(len(parts), 0, -1):
            stem = ".".join(parts[:k])
            extending = [x for x in names if stem and x.startswith(stem)]
            if extending:
                break
        similar = difflib.get_close_matches(pattern, names, n=n, cutoff=0.5)
        return list(dict.fromkeys(extending + similar))[:n]

    def no_match_message(self, pattern: str | None) -> str:
        """One line for a pattern that selects nothing."""
        return f"{pattern!r} matches no {self.kind}; {self._suggest(pattern or '')}"

    def _suggest(self, pattern: str) -> str:
        close = self.closest(pattern)
        if close:
            return "closest: " + ", ".join(close)
        return f"known {self.kind}s start with: " + ", ".join(sorted({x.split('.')[0] for x in self.names()}))
