"""Former home of the gradient cases and planted bugs; every name still works and warns (DeprecationWarning).

The flat view and the generic bugs (``Case``, ``flat_case``, ``ravel_params``,
``BUGS``, ``plant``, ``planted_entries``) live in :mod:`gc_theory.gradcheck.flat`
and are re-exported by :mod:`gc_theory.cases`, the one registry of cases; the
four losses once written here are registered cases (``layer.gc_operator``,
``model.linear_mse``, ``loss.softmax_cross_entropy``, ``model.tanh_cross_entropy``),
and every planted bug is :func:`gc_theory.cases.planted_bugs`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..models.catalogue import ENTRIES, VARIANTS, build_entry, catalogue
from . import flat as _flat

#: Names that moved unchanged, and where to import them from now.
_MOVED = {name: "gc_theory.cases" for name in ("BUGS", "Case", "Layout", "flat_case", "plant", "planted_entries")}
_MOVED["ravel_params"] = "gc_theory.gradcheck"


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        warnings.warn(f"gc_theory.gradcheck.cases.{name} is deprecated; import {name} from {_MOVED[name]}",
                      DeprecationWarning, stacklevel=2)  # fmt: skip
        return getattr(_flat, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _warn(old: str, new: str) -> None:
    warnings.warn(f"gradcheck.cases.{old}(...) is deprecated; {new}", DeprecationWarning, stacklevel=3)


def _registered(key: str, xp: Any, dtype: Any, rng: np.random.Generator) -> _flat.Case:
    kind, name = key.split(".", 1)
    entry = next(e for e in ENTRIES if e[:2] == (kind, name))
    return _flat.flat_case(build_entry(*entry, xp, dtype, rng), xp)


def gc_operator_case(xp: Any, dtype: Any, rng: np.random.Generator) -> _flat.Case:
    _warn("gc_operator_case", "the case is registered as 'layer.gc_operator' in gc_theory.cases")
    return _registered("layer.gc_operator", xp, dtype, rng)


def linear_mse_case(xp: Any, dtype: Any, rng: np.random.Generator) -> _flat.Case:
    _warn("linear_mse_case", "the case is registered as 'model.linear_mse' in gc_theory.cases")
    return _registered("model.linear_mse", xp, dtype, rng)


def softmax_xent_case(xp: Any, dtype: Any, rng: np.random.Generator) -> _flat.Case:
    _warn("softmax_xent_case", "the case is registered as 'loss.softmax_cross_entropy' in gc_theory.cases")
    return _registered("loss.softmax_cross_entropy", xp, dtype, rng)


def tanh_xent_case(xp: Any, dtype: Any, rng: np.random.Generator) -> _flat.Case:
    _warn("tanh_xent_case", "the case is registered as 'model.tanh_cross_entropy' in gc_theory.cases")
    return _registered("model.tanh_cross_entropy", xp, dtype, rng)


def gradient_cases(xp: Any, dtype: Any, rng: np.random.Generator) -> list[_flat.Case]:
    _warn("gradient_cases", "call gc_theory.cases.gradient_cases(xp, dtype, seed) and flat_case() on each")
    return [_flat.flat_case(c, xp) for c in catalogue(xp, dtype, seed=int(rng.integers(0, 2**31)))]


def model_bug_cases(xp: Any, dtype: Any, rng: np.random.Generator) -> list[_flat.Case]:
    _warn("model_bug_cases", "call gc_theory.cases.planted_bugs(xp, dtype, seed)")
    gen = np.random.default_rng(int(rng.integers(0, 2**31)))
    return [_flat.flat_case(build_entry(key.split(".", 1)[0], f"{key.split('.', 1)[1]}.{bug}", make, shape, xp, dtype, gen), xp)
            for key, bug, make, shape in VARIANTS]  # fmt: skip
