"""Evaluating a black-box f at perturbed points: counting, validation, clear errors.

Every evaluation of the user's function goes through :class:`CountedFunction`,
which counts it (benchmarks and claims report evaluations of f, the cost that
dominates a gradient check), checks the shape of what f returns, and turns a
NaN or Inf into an error that names the entry and the perturbation that
produced it.

Where values move to the host
-----------------------------
A scalar f is reduced to a Python number after each evaluation (``float()`` on
a 0-d array of any namespace; a device synchronisation on CuPy): the
differences of scalar values are then formed on the host in float64 and moved
back into x's namespace once, at the end. Array-valued f (Jacobians, batched
``vectorized=True`` calls) stay in their namespace; only a single boolean per
call ("all finite?") is read back.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from gc_theory.core.validation import check_floating
from gc_theory.core.backend import array_namespace, dtype_name, is_array

__all__ = ["CountedFunction", "NonFiniteValueError", "describe_entry", "validate_point"]


_REAL_SCALARS = (float, np.float64, np.float32)


class NonFiniteValueError(ValueError):
    """f returned NaN or Inf at a perturbed point (the message names entry and step)."""


def describe_entry(shape: tuple[int, ...], i: int) -> str:
    """'entry 17 (index (3, 2))': a flat index and its multi-index in x's shape."""
    if len(shape) <= 1:
        return f"entry {i}"
    return f"entry {i} (index {tuple(int(k) for k in np.unravel_index(i, shape))})"


def validate_point(x: Any, name: str = "x") -> Any:
    """Namespace of `x` after checking it is a non-empty, finite, real floating array.

    Raises
    ------
    TypeError
        If `x` is not an array or has an integer, boolean or complex dtype.
    ValueError
        If `x` is empty or holds NaN/Inf.
    """
    xp = check_floating(x, name)
    if math.prod(x.shape) == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}): there is nothing to differentiate")
    finite = xp.isfinite(x)
    if not bool(xp.all(finite)):
        first = int(xp.argmax(xp.astype(xp.reshape(~finite, (-1,)), xp.int8)))
        raise ValueError(f"{name} has a NaN or Inf at {describe_entry(tuple(x.shape), first)}")
    return xp


class CountedFunction:
    """Wrap the user's f: count evaluations and validate every value it returns.

    Parameters
    ----------
    f : callable
        The user's function of an array shaped like x.
    shape : tuple of int
        The shape of x (used to name entries in error messages).
    scalar : bool
        True when f must return a scalar (gradients), False for arrays (Jacobians).
    complex_values : bool
        True for the complex step: a scalar is read with ``complex()``.
    name : str
        How f is called in error messages (``"f"``, ``"grad_f"``).

    Attributes
    ----------
    evaluations : int
        Points at which f was evaluated (a batched call of B points counts B).
    calls : int
        Python calls of f (equal to `evaluations` unless batched).
    """

    def __init__(self, f: Callable[[Any], Any], shape: tuple[int, ...], *, scalar: bool = True,
                 complex_values: bool = False, name: str = "f") -> None:  # fmt: skip
        if not callable(f):
            raise TypeError(f"{name} must be callable, got {type(f).__name__}")
        self.f = f
        self.shape = tuple(shape)
        self.scalar = scalar
        self.complex_values = complex_values
        self.name = name
        self.evaluations = 0
        self.calls = 0
        self.out_shape: tuple[int, ...] | None = None
        #: Float dtypes of the scalar values f returned (np.float32 for f computed in single precision).
        self.value_dtypes: set[str] = set()

    # -- one point ------------------------------------------------------------------
    def __call__(self, point: Any, where: str | Callable[[], str] = "x") -> Any:
        """f(point), validated; `where` (a string, or a function making one) names the perturbation in errors."""
        self.calls += 1
        self.evaluations += 1
        value = self.f(point)
        return self._read_scalar(value, where) if self.scalar else self._check_array(value, where, batch=False)

    def _read_scalar(self, value: Any, where: str | Callable[[], str]) -> float | complex:
        # Fast path for the common case (a NumPy or Python real scalar): this runs once per evaluation.
        if not self.complex_values and type(value) in _REAL_SCALARS:
            number = float(value)
            if type(value) is np.float32:
                self.value_dtypes.add("float32")
            if math.isfinite(number):
                return number
        where = where() if callable(where) else where
        if not (is_array(value) or isinstance(value, (numbers.Number, np.generic))) or isinstance(value, (bool, np.bool_)):
            raise TypeError(
                f"{self.name} must return a real scalar (a 0-d array or a Python number), got "
                f"{type(value).__name__} {value!r:.40} at {where}"
            )
        dtype = getattr(value, "dtype", None)
        if dtype is not None and dtype_name(dtype) in ("float32", "float16", "bfloat16"):
            self.value_dtypes.add(dtype_name(dtype))
        shape = getattr(value, "shape", ())
        if shape != ():
            raise ValueError(
                f"{self.name} must return a scalar (a 0-d array or a Python number), got an array of shape "
                f"{tuple(shape)} at {where}; reduce it (e.g. a sum or mean), or use numerical_jacobian"
            )
        if self.complex_values:
            dtype = getattr(value, "dtype", None)
            if isinstance(value, (int, float, np.floating)) or (dtype is not None and "complex" not in dtype_name(dtype)):
                raise ValueError(
                    f"method='complex' needs {self.name} to return a complex value for complex input, but it "
                    f"returned a real {type(value).__name__} at {where}: f discards the imaginary part "
                    "(abs, real, a cast), so it is not complex-analytic; use method='central'"
                )
            number: float | complex = complex(value)
            ok = math.isfinite(number.real) and math.isfinite(number.imag)
        else:
            if isinstance(value, complex) or "complex" in dtype_name(getattr(value, "dtype", "")):
                raise ValueError(f"{self.name} returned a complex value at {where}; a real scalar is needed")
            number = float(value)
            ok = math.isfinite(number)
        if not ok:
            raise NonFiniteValueError(f"{self.name} returned {number} at {where}")
        return number

    # -- arrays and batches -----------------------------------------------------------
    def batch(self, points: Any, where: Callable[[int], str]) -> Any:
        """f(points) for a leading batch axis of B points; returns shape (B,) or (B, *out)."""
        count = int(points.shape[0])
        self.calls += 1
        self.evaluations += count
        value = self.f(points)
        if not is_array(value):
            raise ValueError(
                f"vectorized=True needs {self.name} to return an array with a leading batch axis of "
                f"length {count}, got {type(value).__name__}"
            )
        if self.scalar and tuple(value.shape) != (count,):
            raise ValueError(
                f"vectorized=True: {self.name} was given {count} points (shape {tuple(points.shape)}) and must "
                f"return shape ({count},), got {tuple(value.shape)}"
            )
        return self._check_array(value, "", batch=True, where_row=where)

    def _check_array(self, value: Any, where: str | Callable[[], str], *, batch: bool,
                     where_row: Callable[[int], str] | None = None) -> Any:  # fmt: skip
        where = where() if callable(where) else where
        if not is_array(value):
            if self.scalar:
                return self._read_scalar(value, where)
            raise ValueError(f"{self.name} must return an array, got {type(value).__name__} at {where}")
        shape = tuple(value.shape[1:] if batch else value.shape)
        if not self.scalar:
            if self.out_shape is None:
                self.out_shape = shape
            elif shape != self.out_shape:
                raise ValueError(f"{self.name} returned shape {shape} at {where or 'a batched call'}, but {self.out_shape} before")
        xp = array_namespace(value)
        finite = xp.isfinite(value)
        if not bool(xp.all(finite)):
            if batch and where_row is not None:
                rows = xp.reshape(finite, (value.shape[0], -1)) if value.ndim > 1 else xp.reshape(finite, (-1, 1))
                bad_row = int(xp.argmax(xp.astype(~xp.all(rows, axis=1), xp.int8)))
                where = where_row(bad_row)
            raise NonFiniteValueError(f"{self.name} returned NaN or Inf at {where}")
        return value

    def value_note(self, x_dtype: Any) -> str | None:
        """A sentence when f's values are less precise than x (float32 values for float64 x), else None."""
        low = sorted(d for d in self.value_dtypes if np.finfo(d if d != "bfloat16" else "float32").eps > np.finfo(dtype_name(x_dtype)).eps)
        if not low:
            return None
        return (f"f returns {low[0]} values for {dtype_name(x_dtype)} x: they are rounded to {low[0]} "
                f"(eps {np.finfo(low[0]).eps:.2g}), which limits what the check can see; compute f in {dtype_name(x_dtype)}")

    def value_eps(self, x_dtype: Any) -> float:
        """The relative rounding of f's values: x's eps, or that of the coarser dtype f returned."""
        return max([float(np.finfo(dtype_name(x_dtype)).eps)] + [float(np.finfo(d).eps) for d in self.value_dtypes if d != "bfloat16"])
