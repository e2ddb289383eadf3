"""gc-theory: the theory of deep-learning optimisation, made checkable.

Gradient Centralization, Weight Normalization, finite-difference gradient
checking and implicit gradient regularisation, each as code that a reader can
run, see pass to within rounding when a claim is true, and see fail when it is
false. Every verified statement lives in :mod:`gc_theory.claims`; the areas,
and the package that holds each one's numerics, are listed once in
:mod:`gc_theory.core.areas`.

>>> import numpy as np
>>> from gc_theory import centralize
>>> g = np.array([[1.0, 2.0, 3.0], [4.0, 4.0, 7.0]])
>>> centralize(g)
array([[-1.,  0.,  1.],
       [-1., -1.,  2.]])
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .core.stable_paths import install as _install_stable_paths
from . import gc as _gc
from .gc import *  # noqa: F403 - GC's operator and projections are the package's first names

try:  # the installed distribution's version; a source tree that was never installed says so
    from importlib.metadata import PackageNotFoundError as _NotInstalled, version as _version

    __version__ = _version("gc-theory")
except _NotInstalled:
    __version__ = "0.0.0+unknown"

#: Former module paths that course material imports, and the modules that now hold their names.
STABLE_PATHS: dict[str, tuple[str, ...]] = {
    "backend": ("core.backend",),
    "centralization": ("gc.centralization",),
    "projections": ("gc.projections",),
    "convergence": ("verify.order_fit",),
    "data": ("datasets",),
    "cases": ("models.cases",),
    "training": ("experiments.training", "experiments.gc"),
    "descent": ("landscape.descent",),
    "vanishing": ("landscape.vanishing",),
    "minibatch": ("landscape.minibatch",),
    "saddle": ("landscape.saddle",),
    "goe": ("landscape.random_minima",),
    "cg": ("landscape.cg",),
    "stochastic": ("landscape.cg_minibatch",),
}
_install_stable_paths(__name__, STABLE_PATHS)


def __getattr__(name: str) -> ModuleType:
    # ``gc_theory.cg`` without importing it first, as a submodule attribute would allow.
    if name in STABLE_PATHS:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["STABLE_PATHS", "__version__", *_gc.__all__]
