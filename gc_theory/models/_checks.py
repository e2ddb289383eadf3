"""Input checks shared by the layers, the losses and the network (clear errors, never a silent NaN)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gc_theory.core.validation import check_all_finite, check_floating
from gc_theory.core.backend import dtype_name

__all__ = ["check_cotangent", "check_input", "check_params"]


def check_input(x: Any, name: str, ndim: int | None, *, what: str, dtype: Any = None, min_ndim: int = 1) -> Any:
    """Return the namespace of `x` after checking dtype, rank and finiteness.

    `ndim` is the exact rank required (None: any rank >= `min_ndim`); `what`
    names the layout the layer expects, e.g. ``"(batch, in_features)"``.
    """
    xp = check_floating(x, name)
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions {what}, got shape {tuple(x.shape)}")
    if ndim is None and x.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s) {what}, got shape {tuple(x.shape)}")
    if dtype is not None and x.dtype != dtype:
        raise TypeError(f"{name} has dtype {dtype_name(x.dtype)} but the parameters are {dtype_name(dtype)}; use one dtype")
    check_all_finite(x, name)
    return xp


def check_params(params: Mapping[str, Any], shapes: Mapping[str, tuple[int, ...]], owner: str) -> Any:
    """Check that `params` has exactly the keys of `shapes`, those shapes, one floating dtype, finite values.

    Returns the common dtype (None when there are no parameters).
    """
    if not isinstance(params, Mapping):
        raise TypeError(f"params of {owner} must be a dict of arrays, got {type(params).__name__}")
    missing = sorted(set(shapes) - set(params))
    extra = sorted(set(params) - set(shapes))
    if missing or extra:
        raise KeyError(f"params of {owner} do not match its parameters: missing {missing}, unexpected {extra}")
    dtype = None
    for key, shape in shapes.items():
        value = params[key]
        check_floating(value, f"params[{key!r}]")
        if tuple(value.shape) != tuple(shape):
            raise ValueError(f"params[{key!r}] of {owner} must have shape {tuple(shape)}, got {tuple(value.shape)}")
        if dtype is None:
            dtype = value.dtype
        elif value.dtype != dtype:
            raise TypeError(f"params[{key!r}] is {dtype_name(value.dtype)} but other parameters are {dtype_name(dtype)}")
        check_all_finite(value, f"params[{key!r}]")
    return dtype


def check_cotangent(dy: Any, shape: tuple[int, ...], owner: str) -> None:
    """Check that the upstream gradient `dy` has the shape of the layer's output."""
    if tuple(dy.shape) != tuple(shape):
        raise ValueError(f"dy passed to {owner}.backward must have the output's shape {tuple(shape)}, got {tuple(dy.shape)}")
