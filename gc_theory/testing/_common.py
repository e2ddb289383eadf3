"""What every assertion of :mod:`gc_theory.testing` shares: namespaces, calling the user's code, messages.

A failure of the implementation under test is an :class:`AssertionError`
whose text names the assertion, the failing case, the measured and allowed
values (also in units of the dtype's eps) and, where the toolkit can tell,
the likely mistake. A misuse of the assertion itself (a bad argument) is a
:class:`TypeError` or :class:`ValueError` raised before anything is run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from gc_theory.core.backend import array_namespace, dtype_name, finfo_eps, is_array, to_numpy
from gc_theory.core.validation import check_positive
from gc_theory.verify.measurement import Measurement


def namespace(xp: Any) -> ModuleType:
    """The array-API namespace for `xp`: None (NumPy), a namespace, or a library such as ``torch``."""
    if xp is None:
        import array_api_compat.numpy as np_xp

        return np_xp
    if not isinstance(xp, ModuleType):
        raise TypeError(f"xp must be an array namespace module (numpy, torch, array_api_strict...), got {type(xp).__name__}")
    name = xp.__name__
    if name in ("numpy", "torch", "cupy", "jax.numpy", "dask.array"):
        # The library itself: its array-API view is array-api-compat's wrapper.
        import importlib

        return importlib.import_module("array_api_compat." + ("jax" if name == "jax.numpy" else name))
    if not hasattr(xp, "asarray"):
        raise TypeError(f"xp must be an array namespace module with asarray, got module {name!r}")
    return xp


def check_slack(slack: Any) -> float:
    """`slack` multiplies every derived tolerance: a number >= 1."""
    value = check_positive(slack, "slack")
    if value < 1.0:
        raise ValueError(f"slack must be >= 1 (it widens the derived tolerance, never narrows it), got {value}")
    return value


def host(xp: ModuleType, x: Any, dtype: str) -> Any:
    """Host data `x` as an array of namespace `xp` and dtype name `dtype`."""
    return xp.asarray(np.asarray(x), dtype=getattr(xp, dtype))


def call(who: str, fn: Callable[..., Any], case: str, *args: Any) -> Any:
    """Call the implementation under test; an exception it raises becomes an AssertionError naming the case."""
    try:
        return fn(*args)
    except Exception as exc:  # the user's code failed: report it as the implementation's fault
        raise AssertionError(f"{who}: the implementation raised {type(exc).__name__}: {exc}\n  case: {case}") from exc


def check_result(who: str, what: str, out: Any, like: Any, case: str) -> np.ndarray:
    """Check that `out` is an array of `like`'s namespace, shape and dtype, finite; return a host float64 copy."""
    if not is_array(out):
        raise AssertionError(f"{who}: {what} returned {type(out).__name__}, not an array\n  case: {case}")
    got, want = array_namespace(out), array_namespace(like)
    if got is not want:
        raise AssertionError(f"{who}: {what} returned an array of namespace {got.__name__}, expected {want.__name__} "
                             f"(the namespace of its input)\n  case: {case}")  # fmt: skip
    if tuple(out.shape) != tuple(like.shape):
        raise AssertionError(f"{who}: {what} returned shape {tuple(out.shape)}, expected {tuple(like.shape)}\n  case: {case}")
    if dtype_name(out.dtype) != dtype_name(like.dtype):
        raise AssertionError(f"{who}: {what} returned dtype {dtype_name(out.dtype)}, expected {dtype_name(like.dtype)} "
                             f"(the dtype of its input)\n  case: {case}")  # fmt: skip
    values = to_numpy(out).astype(np.float64)
    if not np.all(np.isfinite(values)):
        bad = np.flatnonzero(~np.isfinite(values))
        raise AssertionError(f"{who}: {what} returned {bad.size} non-finite value(s) (first at flat index {int(bad[0])}) "
                             f"from finite input\n  case: {case}")  # fmt: skip
    return values


def snapshot(x: Any) -> np.ndarray:
    """A host copy of `x`, to detect an implementation that writes into its input."""
    return np.array(to_numpy(x), copy=True)


def check_unmodified(who: str, what: str, before: np.ndarray, x: Any, case: str) -> None:
    """Raise when the implementation changed its input `x` in place."""
    after = to_numpy(x)
    if not np.array_equal(before, after, equal_nan=True):
        changed = int(np.count_nonzero(before != after))
        raise AssertionError(f"{who}: the implementation modified its input {what} in place ({changed} entries changed); "
                             f"it must return a new array\n  case: {case}")  # fmt: skip


def in_eps(value: float, dtype: Any, scale: float | None) -> str:
    """`value` as a count of the dtype's eps times `scale`, for messages."""
    if scale is None or not scale > 0 or not math.isfinite(value):
        return ""
    return f" = {value / (finfo_eps(dtype) * scale):.3g} eps"


def failure(who: str, property_: str, m: Measurement, dtype: Any, case: str, diagnosis: str | None = None,
            where: str | None = None) -> AssertionError:  # fmt: skip
    """The AssertionError of a failed measurement: property, measured vs allowed (also in eps), case, diagnosis."""
    lines = [f"{who}: {property_} fails",
             f"  measured {m.residual:.3g}{in_eps(m.residual, dtype, m.scale)}, "
             f"allowed {m.tolerance:.3g}{in_eps(m.tolerance, dtype, m.scale)} ({dtype_name(dtype)})",
             f"  case: {case}"]  # fmt: skip
    if where:
        lines.append(f"  where: {where}")
    if diagnosis:
        lines.append(f"  diagnosis: {diagnosis}")
    return AssertionError("\n".join(lines))


def require(who: str, property_: str, m: Measurement, dtype: Any, case: str, diagnosis: Callable[[], str | None] | None = None,
            where: str | None = None) -> Measurement:  # fmt: skip
    """Return `m` when it passes; raise :func:`failure` (with the diagnosis computed only then) when not."""
    if m.passed:
        return m
    raise failure(who, property_, m, dtype, case, diagnosis() if diagnosis else None, where)


def close(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    """Whether host arrays agree to `tol` (a diagnosis test: is the user's result this known mistake?)."""
    return a.shape == b.shape and bool(np.max(np.abs(a - b), initial=0.0) <= tol)


def worst(m_list: list[Measurement]) -> Measurement:
    """The measurement with the largest residual/tolerance ratio."""
    return max(m_list, key=lambda m: (m.residual / m.tolerance) if m.tolerance > 0 else math.inf)
