"""Import paths that outlive a move: ``gc_theory.cg`` keeps working after CG moved to ``gc_theory.landscape.cg``.

Course material imports modules by path (``from gc_theory.goe import THETA``).
When a module moves to the package of its area, its former path stays
importable as a *view*: a module object whose attributes are read, on first
use, from the module (or modules) that now hold them. The table of such paths
is kept in one place, :data:`gc_theory.STABLE_PATHS`, and
:func:`install` makes them importable; nothing is imported before it is used.

A view is not the module itself (``gc_theory.cg is not gc_theory.landscape.cg``),
but every function, class and constant reached through it is the very object
of the module that holds it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["PathView", "install"]


class PathView(types.ModuleType):
    """A module whose attributes are those of `targets` (full module names), the first holding each name."""

    def __init__(self, name: str, targets: Sequence[str]) -> None:
        where = ", ".join(targets)
        super().__init__(name, f"Stable path of {where}: every name here is the object defined there.")
        self.__dict__["_targets"] = tuple(targets)

    def _modules(self) -> list[types.ModuleType]:
        return [importlib.import_module(t) for t in self.__dict__["_targets"]]

    def __getattr__(self, attr: str) -> Any:
        if attr == "__all__":
            names: list[str] = []
            for module in self._modules():
                names += [n for n in getattr(module, "__all__", ()) if n not in names]
            return names
        if attr.startswith("__"):
            raise AttributeError(attr)
        for module in self._modules():
            if hasattr(module, attr):
                return getattr(module, attr)
        raise AttributeError(f"module {self.__name__!r} (a view of {', '.join(self.__dict__['_targets'])}) has no attribute {attr!r}")

    def __dir__(self) -> list[str]:
        names = set(super().__dir__())
        for module in self._modules():
            names.update(n for n in dir(module) if not n.startswith("_"))
        return sorted(names)


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, paths: Mapping[str, Sequence[str]]) -> None:
        self.paths = dict(paths)

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.paths:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, origin=f"stable path of {', '.join(self.paths[fullname])}")

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return PathView(spec.name, self.paths[spec.name])

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: a view reads its targets on first use."""


def install(package: str, paths: Mapping[str, Sequence[str]]) -> None:
    """Make ``package.<old>`` importable for every ``old -> (new, ...)`` of `paths` (names below `package`)."""
    full = {f"{package}.{old}": tuple(f"{package}.{n}" for n in new) for old, new in paths.items()}
    for finder in sys.meta_path:
        if isinstance(finder, _Finder):
            finder.paths.update(full)
            return
    sys.meta_path.append(_Finder(full))
