r"""The one registry of gradient cases: every layer, loss and model a gradient check must cover.

A case is a :class:`~gc_theory.models.GradCase`: a scalar function of a dict
of arrays (the optimisers' contract) with its analytic gradient, its kinks,
a bound on the rounding error of its value and the :class:`Layout` of each
array. An area adds its own cases where it lives, without editing a list::

    from gc_theory.cases import register_case_factory

    @register_case_factory("layer", "weightnorm_linear")
    def _(xp, dtype, rng):
        return layer_case("weightnorm_linear", WeightNormLinear(5, 3), (4, 5), xp, dtype, rng)

and every claim that iterates :func:`gradient_cases` checks it from then on.
:func:`flat_case` is the flat view for checkers that take one vector, and
:data:`BUGS` with :func:`plant` the generic planted bugs (sign flip, factor 2,
a transposed block where the layout allows one); a case's own wrong backward
passes are :func:`gc_theory.models.planted_bugs`.

Notes
-----
Each case draws from its own generator, seeded by ``(seed, crc32(kind.name))``,
so adding or removing a case never changes the data of another.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ._validation import check_callable, check_seed
from .backend import get_namespace, resolve_dtype
from .gradcheck.cases import BUGS, Case, flat_case, plant, planted_entries
from .models.catalogue import ENTRIES, GradCase, Layout

Factory = Callable[[Any, Any, np.random.Generator], GradCase]

__all__ = [
    "BUGS",
    "Case",
    "GradCase",
    "Layout",
    "case_names",
    "flat_case",
    "gradient_cases",
    "plant",
    "planted_entries",
    "register_case_factory",
]

_FACTORIES: dict[str, tuple[str, Factory]] = {}


def register_case_factory(kind: str, name: str, factory: Factory | None = None) -> Any:
    """Register ``factory(xp, dtype, rng) -> GradCase`` as the case ``"<kind>.<name>"``; usable as a decorator.

    Raises
    ------
    ValueError
        If a case of that name is already registered.
    """
    if not isinstance(kind, str) or not kind:
        raise TypeError(f"kind must be a non-empty str, got {kind!r}")
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {name!r}")
    key = f"{kind}.{name}"

    def register(fn: Factory) -> Factory:
        check_callable(fn, "factory")
        if key in _FACTORIES:
            raise ValueError(f"name must be unique among the {kind} cases, got {name!r} a second time")
        _FACTORIES[key] = (kind, fn)
        return fn

    return register if factory is None else register(factory)


def case_names(kinds: Iterable[str] | None = None) -> list[str]:
    """The registered case names (``"layer.linear"``, ...), in registration order, optionally of some kinds only."""
    wanted = None if kinds is None else set(kinds)
    return [key for key, (kind, _) in _FACTORIES.items() if wanted is None or kind in wanted]


def gradient_cases(xp: Any = None, dtype: Any = "float64", seed: int = 0, kinds: Iterable[str] | None = None) -> list[GradCase]:
    """Build every registered case (or those of `kinds`) on `xp` in `dtype`, each from its own seeded stream."""
    seed = check_seed(seed, "seed")
    xp = get_namespace() if xp is None else xp
    dt = resolve_dtype(xp, dtype)
    return [
        _FACTORIES[key][1](xp, dt, np.random.default_rng([seed, zlib.crc32(key.encode())]))
        for key in case_names(kinds)
    ]


def _register_catalogue() -> None:
    for build, name, make, shape in ENTRIES:
        kind = build.__name__.removesuffix("_case")

        def factory(xp: Any, dtype: Any, rng: np.random.Generator, build=build, name=name, make=make, shape=shape) -> GradCase:
            return build(name, make(), shape, xp, dtype, rng)

        register_case_factory(kind, name, factory)


_register_catalogue()
