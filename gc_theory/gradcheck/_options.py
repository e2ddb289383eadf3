"""Validation of the checkers' options, one rule per option, shared by every entry point.

Each function takes only the options it is given (keyword arguments left at
:data:`UNSET` are not checked) and raises the toolkit's usual errors naming
the option: TypeError for the wrong kind, ValueError for out of range.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._validation import check_bool, check_callable, check_int, check_nonnegative, check_positive, check_seed

__all__ = ["UNSET", "check_entries", "check_options", "check_probes"]

UNSET: Any = object()


def check_options(*, safety: Any = UNSET, seed: Any = UNSET, pieces: Any = UNSET, batch_size: Any = UNSET,
                  noise: Any = UNSET, max_diagnose: Any = UNSET, directions: Any = UNSET,
                  max_evaluations: Any = UNSET, diagnose: Any = UNSET, vectorized: Any = UNSET,
                  warn_float32: Any = UNSET) -> None:  # fmt: skip
    """Check every option given; None is accepted where it means "default" (batch_size, noise, pieces, ...)."""
    if safety is not UNSET:
        check_positive(safety, "safety")
    if seed is not UNSET:
        check_seed(seed)
    if pieces is not UNSET and pieces is not None:
        check_callable(pieces, "pieces")
    if batch_size is not UNSET and batch_size is not None:
        check_int(batch_size, "batch_size", minimum=1)
    if noise is not UNSET and noise is not None:
        check_nonnegative(noise, "noise")
    if max_diagnose is not UNSET:
        check_int(max_diagnose, "max_diagnose", minimum=0)
    if directions is not UNSET:
        check_int(directions, "directions", minimum=1)
    if max_evaluations is not UNSET and max_evaluations is not None:
        check_int(max_evaluations, "max_evaluations", minimum=1)
    for name, value in (("diagnose", diagnose), ("vectorized", vectorized), ("warn_float32", warn_float32)):
        if value is not UNSET:
            check_bool(value, name)


def _flat_indices(value: Any, name: str, n: int) -> np.ndarray:
    """`value` as a 1-d int64 array of distinct flat indices in [0, n)."""
    host = np.asarray(value)
    if host.dtype == object or not (host.size == 0 or np.issubdtype(host.dtype, np.integer)):
        raise TypeError(f"{name} must be integers (flat indices), got {host.dtype} values such as {host.reshape(-1)[:3].tolist()}")
    flat = host.astype(np.int64).reshape(-1)
    if flat.size == 0:
        raise ValueError(f"{name} is empty: give at least one flat index")
    if flat.min() < 0 or flat.max() >= n:
        bad = int(flat[(flat < 0) | (flat >= n)][0])
        raise ValueError(f"{name} must be flat indices in [0, {n}) for x of {n} entries, got {bad}")
    return flat


def check_probes(probes: Any, n: int) -> Any:
    """A count >= 1 (capped at n where used), or a sequence of flat indices in [0, n)."""
    if isinstance(probes, numbers.Integral) and not isinstance(probes, (bool, np.bool_)):
        return check_int(probes, "probes", minimum=1)
    if isinstance(probes, (bool, np.bool_, str)) or not hasattr(probes, "__len__"):
        raise TypeError(f"probes must be a count or a sequence of flat indices, got {type(probes).__name__} {probes!r}")
    return _flat_indices(probes, "probes", n)


def check_entries(entries: Any, n: int) -> np.ndarray | None:
    """None (every entry), or the sorted distinct flat indices to check."""
    if entries is None:
        return None
    if isinstance(entries, (str, bool, np.bool_)):
        raise TypeError(f"entries must be a sequence of flat indices, got {type(entries).__name__} {entries!r}")
    return np.unique(_flat_indices(entries, "entries", n))
