r"""What a gradient check is run on: a scalar function of a dict of arrays, with its layout.

:class:`GradCase` is the contract between the things that have a gradient
(the layers, losses and networks of :mod:`gc_theory.models`, registered in
:mod:`gc_theory.models.cases`) and the checkers of this package: a value, its
analytic gradient, its kinks, a bound on the rounding of its value, and the
:class:`Layout` of each array, which says where a planted transposition can
hide and which axis indexes output units.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["GradCase", "Layout", "Point"]

#: The arrays of a case, by name: parameters under their usual keys and the input under ``"input"``.
Point = dict[str, Any]


@dataclass(frozen=True)
class Layout:
    """How one array of a case is laid out, for checkers and planted bugs that act per output unit.

    Attributes
    ----------
    output_axis : int or None
        The axis that indexes output units (0 for weights stored output-axis
        first, ``(out, in)`` or ``(out, in, kh, kw)``); None for arrays that
        are not parameters of a unit (inputs, logits).
    transposable : bool
        Whether a gradient of this array read back transposed, ``(out, rest) -> (rest, out)``,
        is a plausible bug (a weight matrix or kernel); false for biases and data.
    """

    output_axis: int | None = None
    transposable: bool = False



@dataclass(frozen=True)
class GradCase:
    """A scalar function of a dict of arrays, its analytic gradient, and what a checker needs.

    Attributes
    ----------
    name : str
        Unique, e.g. ``"layer.conv2d_stride2_pad1"`` or ``"model.cnn_relu"``.
    kind : str
        ``"layer"``, ``"loss"`` or ``"model"``.
    point : dict
        The arrays at which to check: parameters and ``"input"``.
    value : callable
        ``value(point) -> 0-d array``.
    value_and_grad : callable
        ``value_and_grad(point) -> (0-d array, dict)``, the dict with the keys and shapes of `point`.
    kinks : callable
        ``kinks(point) -> 1-d bool array`` (empty for smooth cases).
    rounding_bound : callable
        ``rounding_bound(point, slack=None) -> float``: first-order bound on
        the rounding error of ``value(point)``, from the layers'
        ``error_bound``; `slack` (a dict like `point`) widens magnitudes so
        the bound covers a neighbourhood.
    module : object
        The layer, loss or network under test.
    fixed : dict
        The non-differentiable data: ``{"probe": c}`` for a layer case (the
        value is ``sum(c * layer(x))``), ``{"targets": t}`` for a loss or model case.
    layout : dict of str to Layout
        Per key of `point`: its output axis and whether a transposed gradient is a plausible bug.
    """

    name: str
    kind: str
    point: Point
    value: Callable[[Point], Any] = field(repr=False)
    value_and_grad: Callable[[Point], tuple[Any, Point]] = field(repr=False)
    kinks: Callable[[Point], Any] = field(repr=False)
    rounding_bound: Callable[..., float] = field(repr=False)
    module: Any = None
    fixed: dict[str, Any] = field(default_factory=dict, repr=False)
    layout: Mapping[str, Layout] = field(default_factory=dict, repr=False)
