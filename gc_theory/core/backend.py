"""Array namespaces: NumPy (default), CuPy (GPU) and array_api_strict (tests).

Core numerics are written once against the array API standard. A function takes
``xp = array_namespace(x)`` from its inputs and uses only standard calls below
that line, so the same code runs on NumPy arrays, CuPy arrays on a GPU, and
array_api_strict arrays, which the tests use to prove that nothing NumPy-only
slipped in.

Rules every module follows:

* a function returns arrays of the namespace it was given and never moves data
  to the host behind the caller's back (:func:`to_numpy` is the one explicit
  way to do so, for reports and plots);
* random numbers come from a seeded :class:`numpy.random.Generator` and are
  moved with :func:`asarray`.
"""

from __future__ import annotations

import functools
import importlib
from types import ModuleType
from typing import Any

import numpy as np
from array_api_compat import array_namespace, is_array_api_obj

__all__ = [
    "BACKENDS",
    "DTYPES",
    "array_namespace",
    "asarray",
    "available_backends",
    "backend_name",
    "dtype_name",
    "finfo_eps",
    "get_namespace",
    "is_array",
    "resolve_dtype",
    "to_numpy",
    "unavailable_reason",
]

#: Backend names in the order they are offered.
BACKENDS: tuple[str, ...] = ("numpy", "array_api_strict", "cupy")
#: Floating dtypes the toolkit verifies in (float64 is the default).
DTYPES: tuple[str, ...] = ("float64", "float32")

_MODULES = {
    "numpy": "array_api_compat.numpy",
    "array_api_strict": "array_api_strict",
    "cupy": "array_api_compat.cupy",
}


def is_array(x: Any) -> bool:
    """True for an array of any array-API namespace (NumPy, CuPy, strict...)."""
    return is_array_api_obj(x)


@functools.cache
def unavailable_reason(name: str) -> str | None:
    """Why backend `name` cannot be used here, or None when it can.

    CuPy counts as available only when it imports *and* a CUDA device is
    visible, so a machine with the wheel but no GPU reports why.
    """
    if name not in _MODULES:
        return f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}"
    try:
        importlib.import_module(_MODULES[name])
    except Exception as exc:  # ImportError, or CuPy failing to find CUDA libraries
        return f"{name} cannot be imported ({type(exc).__name__}: {exc})"
    if name == "cupy":
        try:
            import cupy

            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:
            return f"cupy imports but no CUDA device answers ({type(exc).__name__}: {exc})"
        if count < 1:
            return "cupy imports but no CUDA device is visible"
    return None


def available_backends() -> list[str]:
    """Backends usable on this machine, NumPy first (CuPy only with a GPU)."""
    return [name for name in BACKENDS if unavailable_reason(name) is None]


def get_namespace(name: str = "numpy") -> ModuleType:
    """The array-API namespace of backend `name`.

    Raises
    ------
    ValueError
        If `name` is not a backend, or it cannot be used on this machine
        (the message says why).
    """
    reason = unavailable_reason(name)
    if reason is not None:
        raise ValueError(f"backend {name!r} is not usable: {reason}")
    return importlib.import_module(_MODULES[name])


def backend_name(xp: ModuleType) -> str:
    """The backend name ('numpy', 'cupy', 'array_api_strict') of a namespace."""
    module = xp.__name__
    for name in BACKENDS:
        if module == _MODULES[name] or module == name:
            return name
    return module


def resolve_dtype(xp: ModuleType, dtype: Any = "float64") -> Any:
    """The namespace's floating dtype object for a name such as ``"float32"``."""
    if isinstance(dtype, str):
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        return getattr(xp, dtype)
    return dtype


def dtype_name(dtype: Any) -> str:
    """'float64' or 'float32' for a dtype of any namespace."""
    text = str(dtype)
    for name in ("float64", "float32", "float16", "complex128", "complex64"):
        if name in text:
            return name
    return text


def finfo_eps(dtype: Any) -> float:
    """Machine epsilon of a floating dtype of any namespace, as a Python float."""
    return float(np.finfo(dtype_name(dtype)).eps)


def asarray(x: Any, xp: ModuleType, dtype: Any = "float64") -> Any:
    """Move host data `x` (NumPy array or nested lists) into namespace `xp`."""
    return xp.asarray(np.asarray(x), dtype=resolve_dtype(xp, dtype))


def to_numpy(x: Any) -> np.ndarray:
    """Copy an array of any backend to a host NumPy array (explicitly)."""
    if isinstance(x, np.ndarray):
        return x
    if type(x).__module__.startswith("cupy"):
        return x.get()  # device -> host, explicitly
    return np.from_dlpack(x) if hasattr(x, "__dlpack__") else np.asarray(x)
