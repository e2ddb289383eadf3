"""The one list of areas, and the layers the packages are stacked in.

An *area* is one piece of the theory: its claims have ids that start with the
area's name (``gc.P.idempotent``, ``wn.norm_growth``), live in the claim
module ``gc_theory.claims.<name>`` (a module or a package), and measure the
numerics of one package or module, :attr:`Area.package`. The registry runs
the areas in the order of :data:`AREAS`; the import contract of the test suite
and the documentation read the same tuple, so adding an area is one line here
and one claim module.

:data:`LAYERS` is the import contract: the packages of ``gc_theory`` from the
top down. A package may import only from the layers below its own; within a
layer, names joined by ``|`` are independent siblings that must not import
each other. ``tests/project/test_import_contract.py`` turns this tuple into an
import-linter contract and runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AREAS", "LAYERS", "Area", "area_names", "get_area"]


@dataclass(frozen=True)
class Area:
    """One area of the theory.

    Attributes
    ----------
    name : str
        The first component of its claim ids, and the name of its claim module.
    package : str
        Where its numerics live, below ``gc_theory`` (``"weightnorm"``, ``"landscape.cg"``).
    title : str
        What it is called in the docs and the notebooks.
    """

    name: str
    package: str
    title: str


AREAS: tuple[Area, ...] = (
    Area("gc", "gc", "Gradient Centralization"),
    Area("optim", "optim", "Optimisers"),
    Area("models", "models", "Layers, losses and networks"),
    Area("gradcheck", "gradcheck", "Finite-difference gradient checking"),
    Area("wn", "weightnorm", "Weight Normalization"),
    Area("igr", "igr", "Implicit gradient regularisation"),
    Area("descent", "landscape.descent", "Taylor expansion and the descent lemma"),
    Area("vanishing", "landscape.vanishing", "Vanishing gradients"),
    Area("minibatch", "landscape.minibatch", "Mini-batch noise"),
    Area("saddle", "landscape.saddle", "Saddle points, plateaus and random critical points"),
    Area("cg", "landscape.cg", "Nonlinear conjugate gradient"),
)

#: The packages of gc_theory, top to bottom ("a | b": independent siblings).
LAYERS: tuple[str, ...] = (
    "__main__",
    "cli",
    "figures | bench",
    "claims | testing",
    "experiments",
    "problems",
    "landscape | igr",
    "models",
    "gradcheck | optim",
    "gc | weightnorm",
    "verify | datasets",
    "core",
)


def area_names() -> tuple[str, ...]:
    """The names of :data:`AREAS`, in order."""
    return tuple(a.name for a in AREAS)


def get_area(name: str) -> Area:
    """The area called `name`; a ValueError listing the areas otherwise."""
    for area in AREAS:
        if area.name == name:
            return area
    raise ValueError(f"no area {name!r}; the areas are {', '.join(area_names())}")
