"""Checks on user input that raise clear errors naming the argument at fault.

Every public function validates what it is given here, so that bad input ends
in a message such as ``g must have a real floating dtype, got int64`` rather
than a silent NaN or a traceback from deep inside an array library.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .backend import array_namespace, dtype_name, is_array

__all__ = [
    "check_all_finite",
    "check_floating",
    "check_positive_int",
    "normalize_axes",
]


def check_floating(x: Any, name: str) -> Any:
    """Return the namespace of `x` after checking it is a real floating array.

    Raises
    ------
    TypeError
        If `x` is not an array, or its dtype is integer, boolean or complex.
    """
    if not is_array(x):
        raise TypeError(f"{name} must be an array, got {type(x).__name__}")
    xp = array_namespace(x)
    if not xp.isdtype(x.dtype, "real floating"):
        raise TypeError(
            f"{name} must have a real floating dtype (float32 or float64), "
            f"got {dtype_name(x.dtype)}; convert it with astype first"
        )
    return xp


def check_all_finite(x: Any, name: str) -> None:
    """Raise ValueError naming `name` and the first bad entry if `x` has NaN or Inf."""
    xp = array_namespace(x)
    bad = ~xp.isfinite(x)
    if bool(xp.any(bad)):
        flat = xp.reshape(bad, (-1,))
        first = int(xp.argmax(xp.astype(flat, xp.int8)))
        count = int(xp.sum(xp.astype(flat, xp.int64)))
        raise ValueError(
            f"{name} has {count} non-finite entr{'y' if count == 1 else 'ies'} "
            f"(NaN or Inf); the first is at flat index {first}"
        )


def check_positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """Return `value` as int after checking it is an integer >= `minimum`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def normalize_axes(axis: int | Sequence[int], ndim: int, name: str = "axis") -> tuple[int, ...]:
    """Non-negative, sorted, duplicate-free axes; a clear error when out of range."""
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"{name} entries must be integers, got {a!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"{name}={a} is out of range for an array with {ndim} dimension(s)")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name} has a repeated axis: {tuple(axes)}")
    return tuple(sorted(out))
