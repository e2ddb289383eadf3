r"""The one registry of gradient cases, and of the bugs planted in them.

A case is a :class:`~gc_theory.models.GradCase`: a scalar function of a dict
of arrays (the optimisers' contract) with its analytic gradient, its kinks,
a bound on the rounding error of its value and the :class:`Layout` of each
array. An area adds its own cases where it lives, without editing a list::

    from gc_theory.models.cases import register_bug_factory, register_case_factory

    @register_case_factory("layer", "weightnorm_linear")
    def _(xp, dtype, rng):
        return layer_case("weightnorm_linear", WeightNorm(Linear(5, 3)), (4, 5), xp, dtype, rng)

    @register_bug_factory("layer", "weightnorm_linear", "unprojected_v")
    def _(xp, dtype, rng):   # the same layer with a wrong backward pass
        return layer_case("weightnorm_linear.unprojected_v", planted_weight_norm(Linear(5, 3)), (4, 5), xp, dtype, rng)

and every claim that iterates :func:`gradient_cases` or :func:`planted_bugs`
checks them from then on.

One vocabulary of planted bugs, :func:`planted_bugs`: the generic
perturbations :data:`BUGS` of every case's gradient (a sign flip of the largest
entry, a factor 2, and a weight gradient read back transposed wherever the
case's :class:`Layout` declares an array transposable), and every case's own
wrong backward passes registered with :func:`register_bug_factory`.
:func:`flat_case` is the flat view for checkers that take one vector, and
:func:`check_case` runs the public directional checker on each array of a case
with the case's own rounding bound.

Notes
-----
Each case and each bug draws from its own generator, seeded by
``(seed, crc32(name))``, so adding or removing one never changes the data of
another; a generic perturbation of a case sees exactly that case's data.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from gc_theory.core.validation import check_callable, check_choice, check_seed
from gc_theory.core.backend import array_namespace, finfo_eps, get_namespace, resolve_dtype
from gc_theory.gradcheck import directional_check
from gc_theory.gradcheck.flat import BUGS, Case, flat_case, plant, planted_entries, ravel_params
from gc_theory.verify.measurement import Measurement
from .catalogue import ENTRIES, VARIANTS, GradCase, Layout, build_entry

Factory = Callable[[Any, Any, np.random.Generator], GradCase]

__all__ = [
    "BUGS",
    "Case",
    "GradCase",
    "Layout",
    "PlantedBug",
    "case_names",
    "check_case",
    "flat_case",
    "gradient_cases",
    "plant",
    "plant_case",
    "planted_bugs",
    "planted_entries",
    "register_bug_factory",
    "register_case_factory",
]

_FACTORIES: dict[str, tuple[str, Factory]] = {}
#: Each case's own wrong backward passes, by "<kind>.<name>.<bug>".
_BUG_FACTORIES: dict[str, tuple[str, Factory]] = {}


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{what} must be a non-empty str, got {value!r}")
    return value


def register_case_factory(kind: str, name: str, factory: Factory | None = None) -> Any:
    """Register ``factory(xp, dtype, rng) -> GradCase`` as the case ``"<kind>.<name>"``; usable as a decorator.

    Raises
    ------
    ValueError
        If a case of that name is already registered.
    """
    key = f"{_name(kind, 'kind')}.{_name(name, 'name')}"

    def register(fn: Factory) -> Factory:
        check_callable(fn, "factory")
        if key in _FACTORIES:
            raise ValueError(f"name must be unique among the {kind} cases, got {name!r} a second time")
        _FACTORIES[key] = (kind, fn)
        return fn

    return register if factory is None else register(factory)


def register_bug_factory(kind: str, name: str, bug: str, factory: Factory | None = None) -> Any:
    """Register ``factory(xp, dtype, rng) -> GradCase``, a wrong backward pass of the case ``"<kind>.<name>"``.

    The case must be registered first: a bug is declared beside the case it
    breaks. The factory builds the same kind of case (it may use other sizes)
    whose value is right and whose gradient is wrong; a gradient check must
    reject it. Usable as a decorator.

    Raises
    ------
    ValueError
        If the case is not registered, or it already has a bug of that name.
    """
    case = f"{_name(kind, 'kind')}.{_name(name, 'name')}"
    key = f"{case}.{_name(bug, 'bug')}"

    def register(fn: Factory) -> Factory:
        check_callable(fn, "factory")
        if case not in _FACTORIES:
            raise ValueError(f"name must name a registered {kind} case (register it first), got {name!r}")
        if key in _BUG_FACTORIES:
            raise ValueError(f"bug must be unique among the bugs of {case}, got {bug!r} a second time")
        _BUG_FACTORIES[key] = (case, fn)
        return fn

    return register if factory is None else register(factory)


def case_names(kinds: Iterable[str] | None = None) -> list[str]:
    """The registered case names (``"layer.linear"``, ...), in registration order, optionally of some kinds only."""
    wanted = None if kinds is None else set(kinds)
    return [key for key, (kind, _) in _FACTORIES.items() if wanted is None or kind in wanted]


def _rng(seed: int, key: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(key.encode())])


def gradient_cases(xp: Any = None, dtype: Any = "float64", seed: int = 0, kinds: Iterable[str] | None = None) -> list[GradCase]:
    """Build every registered case (or those of `kinds`) on `xp` in `dtype`, each from its own seeded stream."""
    seed = check_seed(seed, "seed")
    xp = get_namespace() if xp is None else xp
    dt = resolve_dtype(xp, dtype)
    return [_FACTORIES[key][1](xp, dt, _rng(seed, key)) for key in case_names(kinds)]


@dataclass(frozen=True)
class PlantedBug:
    """A case whose gradient is wrong in a known way; a gradient check must reject it.

    Attributes
    ----------
    case : GradCase
        Value right, gradient wrong; ``case.name`` names the bug.
    of : str
        The registered case it breaks (``"layer.conv2d"``).
    bug : str
        One of :data:`BUGS` (a generic perturbation of that case's gradient) or
        the name of the case's own wrong backward pass.
    entries : numpy.ndarray or None
        For a generic perturbation, the flat indices (in :func:`flat_case`'s
        order) it changes at ``case.point``; None for a wrong backward pass,
        which may change every entry.
    """

    case: GradCase
    of: str
    bug: str
    entries: np.ndarray | None = None

    @property
    def name(self) -> str:
        return self.case.name

    @property
    def keys(self) -> list[str]:
        """The arrays of ``case.point`` whose gradient the bug changes (all of them for a wrong backward pass)."""
        if self.entries is None:
            return list(self.case.point)
        out, offset = [], 0
        for key, value in self.case.point.items():
            size = math.prod(value.shape)
            if np.any((self.entries >= offset) & (self.entries < offset + size)):
                out.append(key)
            offset += size
        return out


def plant_case(case: GradCase, bug: str, xp: Any = None) -> PlantedBug | None:
    """`case` with the generic perturbation `bug` of :data:`BUGS` in its gradient; None where it cannot apply.

    The perturbation acts on :func:`flat_case`'s vector: a sign flip of the
    largest entry, every entry doubled, or the first array whose
    :class:`Layout` declares it transposable read back transposed (None when
    the case has no such array).
    """
    check_choice(bug, "bug", BUGS)
    flat = flat_case(case, get_namespace() if xp is None else xp)
    if bug == "transposed" and flat.weight_block is None:
        return None
    wrong = plant(bug, flat.grad, flat.x, flat.weight_block)
    _, unravel = ravel_params(case.point)

    def value_and_grad(point: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        return case.value(point), unravel(wrong(ravel_params(point)[0]))

    broken = replace(case, name=f"{case.name}:{bug}", value_and_grad=value_and_grad)
    return PlantedBug(broken, case.name, bug, planted_entries(bug, flat.grad, flat.x, flat.weight_block))


def planted_bugs(xp: Any = None, dtype: Any = "float64", seed: int = 0, kinds: Iterable[str] | None = None) -> list[PlantedBug]:
    """Every planted bug: the generic perturbations of every case, and each case's own.

    Parameters
    ----------
    xp, dtype, seed, kinds
        As in :func:`gradient_cases`; a generic perturbation acts on the very
        case :func:`gradient_cases` builds with the same arguments.

    Returns
    -------
    list of PlantedBug
    """
    seed = check_seed(seed, "seed")
    xp = get_namespace() if xp is None else xp
    dt = resolve_dtype(xp, dtype)
    out: list[PlantedBug] = []
    for key in case_names(kinds):
        case = _FACTORIES[key][1](xp, dt, _rng(seed, key))
        out += [b for b in (plant_case(case, bug, xp) for bug in BUGS) if b is not None]
        for name, (of, factory) in _BUG_FACTORIES.items():
            if of == key:
                out.append(PlantedBug(factory(xp, dt, _rng(seed, name)), of, name[len(of) + 1 :]))
    return out


def check_case(case: GradCase, *, seed: int = 0, directions: int = 2, safety: float = 2.0, keys: Iterable[str] | None = None) -> list[Measurement]:
    r"""The public :func:`~gc_theory.gradcheck.directional_check` on each array of `case`, one Measurement per direction.

    Parameters
    ----------
    case : GradCase
        From :func:`gc_theory.models.cases.gradient_cases` (or a :class:`~gc_theory.models.cases.PlantedBug`'s case).
    seed : int
        Seeds the random directions.
    directions : int
        Random directions per array.
    safety : float
        The checker's factor on its derived tolerance.
    keys : iterable of str, optional
        Check only these arrays (default: all; a planted bug's :attr:`PlantedBug.keys`).

    Returns
    -------
    list of Measurement
        residual :math:`|u^\top g - D(s)|`, tolerance the checker's :math:`\tau`;
        directions that crossed a ReLU kink are left out (they test nothing).

    Notes
    -----
    The checker's tolerance (:mod:`gc_theory.gradcheck.directional`) is
    :math:`\mathrm{safety}\,(|\delta(2s) - \delta(s)|/3 + \epsilon_f/s + \gamma|g|^\top|d|/(2s))`:
    the truncation estimated from two steps, the rounding of f, the rounding of
    the inner product. Here :math:`\epsilon_f` is the case's own
    ``rounding_bound`` on the neighbourhood the stencils reach
    (:math:`|x_i| + 4s\max(|x_i|, 1)`, the largest displacement at step 2s),
    derived from the layers' ``error_bound``, rather than a generic
    :math:`\epsilon\max|f|`. The safety factor 2 covers the truncation
    estimate, whose :math:`O(s^4)` remainder and rounding are not bounded by it.
    """
    xp = array_namespace(*case.point.values())
    out = []
    wanted = set(case.point if keys is None else keys)
    for i, key in enumerate(case.point):
        if key not in wanted:
            continue
        view = flat_case(case, xp, keys=[key])  # this array varies, the others are held
        x = case.point[key]
        s = float(np.cbrt(finfo_eps(x.dtype)))
        reach = 4 * s * xp.maximum(xp.abs(x), xp.ones_like(x))
        noise = case.rounding_bound(case.point, {key: reach})
        pieces = view.kinks if case.kinks(case.point).shape[0] else None
        report = directional_check(view.f, view.grad, view.x, directions=directions, h=s, safety=safety, seed=seed + i,
                                   pieces=pieces, noise=noise)  # fmt: skip
        for k in np.flatnonzero(~report.crossed_kink).tolist():
            out.append(Measurement(float(report.discrepancy[k]), float(report.tolerance[k]), max(abs(float(report.analytic[k])), 1e-300),
                                   f"{case.name}[{key}] direction {k}, step {report.step:.2g}"))  # fmt: skip
    return out


def _register_catalogue() -> None:
    for kind, name, make, shape in ENTRIES:

        def factory(xp: Any, dtype: Any, rng: np.random.Generator, kind=kind, name=name, make=make, shape=shape) -> GradCase:
            return build_entry(kind, name, make, shape, xp, dtype, rng)

        register_case_factory(kind, name, factory)
    for case, bug, make, shape in VARIANTS:
        kind, name = case.split(".", 1)

        def variant(xp: Any, dtype: Any, rng: np.random.Generator, kind=kind, name=f"{name}.{bug}", make=make, shape=shape) -> GradCase:
            return build_entry(kind, name, make, shape, xp, dtype, rng)

        register_bug_factory(kind, name, bug, variant)


_register_catalogue()
