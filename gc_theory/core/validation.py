"""Checks on user input that raise clear errors naming the argument at fault.

Every public function validates what it is given with the helpers here, so
that bad input ends in a message such as ``g must have a real floating dtype,
got int64`` rather than a silent NaN or a traceback from deep inside an array
library. One wording everywhere: ``"<name> must be <what>, got <value>"``.

Scalars
    :func:`check_real` (a finite real, optionally bounded), :func:`check_positive`
    (> 0), :func:`check_nonnegative` (>= 0), :func:`check_unit_interval`
    ([0, 1), [0, 1] or (0, 1)), :func:`check_int` (an integer >= a minimum:
    ``minimum=0`` for counts that may be zero, ``minimum=1`` for sizes),
    :func:`check_bool`, :func:`check_seed`, :func:`check_choice`,
    :func:`check_callable`.
Arrays
    :func:`check_floating` (a real floating array of a dtype the toolkit computes
    in), :func:`check_all_finite`, :func:`check_finite_floating` (both),
    :func:`normalize_axes`.

TypeError means "the wrong kind of thing" (a string for a number, an integer
array); ValueError means "the right kind, out of range" (a negative step, NaN).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .backend import array_namespace, dtype_name, is_array

__all__ = [
    "check_all_finite",
    "check_bool",
    "check_callable",
    "check_choice",
    "check_finite_floating",
    "check_floating",
    "check_int",
    "check_nonnegative",
    "check_positive",
    "check_positive_int",
    "check_real",
    "check_seed",
    "check_unit_interval",
    "host_vector",
    "normalize_axes",
]


def _is_real_number(value: Any) -> bool:
    """True for Python and NumPy reals (bool excluded: True is no learning rate)."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_real(value: Any, name: str, *, low: float | None = None, high: float | None = None,
               low_open: bool = False, high_open: bool = False) -> float:
    """Return `value` as a finite float after checking it is a real number in the given bounds.

    Parameters
    ----------
    value : object
        What the user passed.
    name : str
        The argument's name, used in the message.
    low, high : float or None
        Bounds; None for unbounded.
    low_open, high_open : bool
        Whether the bound itself is excluded.

    Raises
    ------
    TypeError
        If `value` is not a real number (a string, a bool, an array, None).
    ValueError
        If it is NaN, infinite or outside the bounds.
    """
    if not _is_real_number(value):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    below = low is not None and (x <= low if low_open else x < low)
    above = high is not None and (x >= high if high_open else x > high)
    if below or above:
        raise ValueError(f"{name} must be {_interval(low, high, low_open, high_open)}, got {x!r}")
    return x


def _interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if high is None:
        return f"{'>' if low_open else '>='} {low:g}"
    if low is None:
        return f"{'<' if high_open else '<='} {high:g}"
    return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def check_positive(value: Any, name: str) -> float:
    """A finite real > 0 as float (a step, a tolerance, a scale: 0 is refused)."""
    return check_real(value, name, low=0.0, low_open=True)


def check_nonnegative(value: Any, name: str) -> float:
    """A finite real >= 0 as float (a learning rate or a weight decay, where 0 means "off")."""
    return check_real(value, name, low=0.0)


def check_unit_interval(value: Any, name: str, *, closed: str = "left") -> float:
    """A real in the unit interval as float.

    `closed` says which ends belong to it: ``"left"`` is [0, 1) (a decay rate:
    1 would never forget and bias correction divides by 1 - beta^t), ``"both"``
    is [0, 1] (dampening), ``"neither"`` is (0, 1).
    """
    if closed not in ("left", "both", "neither"):
        raise ValueError(f"closed must be 'left', 'both' or 'neither', got {closed!r}")
    return check_real(value, name, low=0.0, high=1.0, low_open=closed == "neither", high_open=closed != "both")


def check_int(value: Any, name: str, *, minimum: int | None = 0, maximum: int | None = None) -> int:
    """Return `value` as int after checking it is an integer in [minimum, maximum].

    ``minimum=0`` for counts that may be zero, ``minimum=1`` for sizes and
    numbers of repeats, None for no lower bound. Floats, even integral ones,
    are refused: ``entries=3.0`` is a bug at the call site.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    n = int(value)
    if minimum is not None and n < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {n}")
    if maximum is not None and n > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {n}")
    return n


def check_positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """An integer >= `minimum` (default 1); kept for existing callers, same as :func:`check_int`."""
    return check_int(value, name, minimum=minimum)


def check_seed(value: Any, name: str = "seed") -> int:
    """A seed for :func:`numpy.random.default_rng`: an integer >= 0 (NumPy refuses negative seeds deep inside)."""
    return check_int(value, name, minimum=0)


def check_bool(value: Any, name: str) -> bool:
    """True or False exactly (1, 'yes' and None are refused: they hide bugs)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def check_choice(value: Any, name: str, choices: Iterable[Any]) -> Any:
    """`value` if it is one of `choices`, else a ValueError listing them."""
    options = tuple(choices)
    try:
        known = value in options
    except TypeError:  # an unhashable or incomparable value
        known = False
    if not known:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value


def check_callable(value: Any, name: str) -> Callable[..., Any]:
    """`value` if it can be called."""
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__} {value!r}")
    return value


def check_floating(x: Any, name: str) -> Any:
    """Return the namespace of `x` after checking it is a real floating array.

    Raises
    ------
    TypeError
        If `x` is not an array (a masked array counts as none: its mask would be
        dropped silently), or its dtype is integer, boolean or complex.
    """
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError(f"{name} must be a plain array, got a masked array; fill it (x.filled()) or drop the mask first")
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


def check_finite_floating(x: Any, name: str) -> Any:
    """:func:`check_floating` and :func:`check_all_finite` together; returns the namespace."""
    xp = check_floating(x, name)
    check_all_finite(x, name)
    return xp


def normalize_axes(axis: int | Sequence[int], ndim: int, name: str = "axis") -> tuple[int, ...]:
    """Non-negative, sorted, duplicate-free axes; a clear error when out of range or not integers."""
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (numbers.Integral, Sequence)) or isinstance(axis, str):
        raise TypeError(f"{name} must be an integer or a sequence of integers, got {type(axis).__name__} {axis!r}")
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    out = []
    for a in axes:
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, numbers.Integral):
            raise TypeError(f"{name} entries must be integers, got {type(a).__name__} {a!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"{name}={int(a)} is out of range for an array with {ndim} dimension(s)")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name} has a repeated axis: {tuple(axes)}")
    return tuple(sorted(out))


def host_vector(values: Any, name: str, *, positive: bool = False) -> np.ndarray:
    """`values` as a finite 1-d float64 NumPy array (entries > 0 with `positive`), for host-side SciPy code."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a 1-d sequence of real numbers, got {type(values).__name__} {values!r:.60}") from exc
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-d, got shape {array.shape}")
    bad = np.flatnonzero(~(np.isfinite(array) & (array > 0))) if positive else np.flatnonzero(~np.isfinite(array))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name} must be finite{' and > 0' if positive else ''}, got {float(array[i])!r} at index {i}")
    return array
