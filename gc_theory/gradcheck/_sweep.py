"""Evaluating f at x with one entry replaced, for every entry: in a loop, or in batches along a new axis.

Each perturbation is one item assignment into a private copy of x, restored
exactly afterwards, so the overhead per evaluation is O(1); for that the n
perturbed *values* are copied to the host once (as Python numbers). With
``vectorized=True`` the perturbed points are built in x's namespace as a
``(B, n)`` batch (``eye(B, n, k=offset)`` selects the entries) and sent through
f in a few calls.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gc_theory.core.backend import to_numpy
from ._evaluate import CountedFunction, describe_entry

__all__ = ["BATCH_ELEMENTS", "Sweep", "as_f64"]

#: Elements of x per batched call when vectorized=True and no batch_size is given.
BATCH_ELEMENTS = 2**22


class Sweep:
    """Evaluates f at x with one entry replaced, for every entry, in a loop or in batches."""

    def __init__(self, fc: CountedFunction, x: Any, xp: Any, *, vectorized: bool, batch_size: int | None, dtype: Any = None):
        self.fc, self.xp, self.shape = fc, xp, tuple(x.shape)
        self.n = math.prod(self.shape)
        self.dtype = x.dtype if dtype is None else dtype
        self.base = xp.astype(x, self.dtype, copy=True)
        self.flat = xp.reshape(self.base, (self.n,))
        self.vectorized = vectorized
        if batch_size is None:
            batch_size = max(1, min(self.n, BATCH_ELEMENTS // self.n))
        self.batch_size = batch_size
        if len(self.shape) == 0:
            self.index = [()]
        elif len(self.shape) == 1:
            self.index: list[Any] = list(range(self.n))
        elif not self.shape:  # a 0-d x: its one entry is indexed by the empty tuple
            self.index = [()]
        else:
            self.index = list(zip(*(a.tolist() for a in np.unravel_index(np.arange(self.n), self.shape))))

    def single(self, point: Any, label: str) -> Any:
        """f at one point; with vectorized=True as a batch of one, since f may need the batch axis."""
        if not self.vectorized:
            return self.fc(point, label)
        out = self.fc.batch(self.xp.reshape(point, (1,) + self.shape), lambda r: label)
        if not self.fc.scalar:
            return out[0, ...]
        return complex(out[0]) if self.fc.complex_values else float(out[0])

    def where(self, i: int, label: str, step: Any) -> str:
        return f"x + ({step:+.3g}) e_{i} ({describe_entry(self.shape, i)}; perturbation {label})"

    def run(self, replaced: Any, label: str, entries: list[int] | None = None) -> Any:
        """f(x with entry i set to replaced[i]) for each i (all entries, or `entries`); float64 (or complex128)."""
        entries = list(range(self.n)) if entries is None else entries
        if self.vectorized:
            return self._batched(replaced, label, entries)
        host = to_numpy(replaced).tolist()
        base_host = to_numpy(self.flat).tolist()
        work = self.xp.asarray(self.base, copy=True)
        out = []
        for i in entries:
            idx = self.index[i]
            work[idx] = host[i]
            out.append(self.fc(work, lambda i=i: self.where(i, label, host[i] - base_host[i])))
            work[idx] = base_host[i]
        if not self.fc.scalar:
            return self.xp.stack(out, axis=0)
        return np.asarray(out)

    def _batched(self, replaced: Any, label: str, entries: list[int]) -> Any:
        xp, n = self.xp, self.n
        pieces = []
        rows = np.asarray(entries)
        start = 0
        while start < len(rows):
            chunk = rows[start : start + self.batch_size]
            # Contiguous runs use eye(.., k=offset); a scattered chunk is built row by row.
            if chunk[-1] - chunk[0] == len(chunk) - 1:
                E = xp.eye(len(chunk), n, k=int(chunk[0]), dtype=self.dtype)
                X = self.flat[None, :] * (1 - E) + E * replaced[None, :]
            else:
                X = xp.stack([self.flat] * len(chunk), axis=0)
                for r, i in enumerate(chunk.tolist()):
                    X[r, i] = replaced[i]
            X = xp.reshape(X, (len(chunk),) + self.shape)
            pieces.append(self.fc.batch(X, lambda r, c=chunk: self.where(int(c[r]), label, float("nan"))))
            start += self.batch_size
        return xp.concat(pieces, axis=0)


def as_f64(xp: Any, values: Any) -> Any:
    if isinstance(values, np.ndarray):
        return xp.asarray(values.astype(np.float64 if values.dtype.kind != "c" else np.complex128))
    kind = xp.complex128 if xp.isdtype(values.dtype, "complex floating") else xp.float64
    return xp.astype(values, kind)
