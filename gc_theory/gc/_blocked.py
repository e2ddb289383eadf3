"""The NumPy fast path of :func:`gc_theory.gc.centralization.centralize`: cache-blocked BLAS.

Same result as the reference ``g - mean(g)`` (each entry rounded once), with the
tensor streamed from memory once, like a copy (benchmarks/RESULTS.md). NumPy
only; the reference in :mod:`gc_theory.gc.centralization` is what to read for the
mathematics.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from scipy.linalg.blas import get_blas_funcs

#: Bytes of one row block. A block is read from memory once for its mean and
#: once more, from cache, for the subtraction, so it must fit in a core's L2
#: cache with room to spare (benchmarks/RESULTS.md).
BLOCK_BYTES = 1 << 19


def applies(g: Any, axes: tuple[int, ...], out: Any) -> bool:
    """NumPy float32/float64 in native byte order, C-contiguous, averaged over trailing axes.

    BLAS ``?ger`` exists only for those two dtypes and updates memory in native
    order; any other array (float16, longdouble, byte-swapped, strided) takes
    the reference path, which computes in the array's own dtype.
    """
    def native_blas_float(a: Any) -> bool:
        return isinstance(a, np.ndarray) and a.dtype.isnative and a.dtype.char in "fd" and a.flags.c_contiguous

    trailing = bool(axes) and axes == tuple(range(g.ndim - len(axes), g.ndim))
    return trailing and native_blas_float(g) and (out is None or native_blas_float(out))


def centralize(g: np.ndarray, M: int, out: np.ndarray | None) -> np.ndarray:
    """`g` viewed as (units, M), one cache-sized block of rows at a time.

    Per block, while it is in cache: row sums (einsum), a copy into `out`, and
    the rank-1 update ``out -= (sums/M) 1^T`` by BLAS ``?ger``. Each entry is
    rounded once, as in ``g - mean``. In cache this pair runs about twice as
    fast as NumPy's broadcast ``block - means`` (benchmarks/RESULTS.md).

    OpenBLAS would run each block's rank-1 update on all its threads; with the
    cores shared with other work their hand-offs stall (a single call up to
    100x slower than a copy), so BLAS is held to one thread for the loop, as
    the rest of this path is single-threaded anyway.
    """
    if out is None:
        out = np.empty_like(g)
    if g.size == 0:
        return out
    g2 = g.reshape(-1, M)
    out2 = out.reshape(-1, M)  # a view, since out is C-contiguous
    ger = get_blas_funcs("ger", (g2,))
    ones = np.ones(M, dtype=g.dtype)
    rows = max(1, BLOCK_BYTES // (M * g.itemsize))
    sums = np.empty(min(rows, g2.shape[0]), dtype=g.dtype)
    copy = out is not g
    # An overflowing row sum is summed again, rescaled, below: not worth a warning.
    with _one_blas_thread(), np.errstate(over="ignore"):
        for start in range(0, g2.shape[0], rows):
            block, target = g2[start : start + rows], out2[start : start + rows]
            s = sums[: block.shape[0]]
            np.einsum("ij->i", block, out=s)
            scale = 1.0 / M
            if not np.isfinite(s).all():
                # A row sum overflowed (or g has Inf/NaN): sum the block scaled by
                # 2^-k >= 1/M, exactly, so no partial sum can exceed the largest
                # entry, and fold 2^k back into ger's coefficient.
                k = math.ceil(math.log2(M))
                np.einsum("ij->i", block * 2.0**-k, out=s)
                scale = 2.0**k / M
            if copy:
                np.copyto(target, block)
            # target is C-contiguous, so target.T is the Fortran-ordered matrix BLAS updates in place.
            ger(-scale, ones, s, a=target.T, overwrite_a=True)
    return out


@functools.cache
def _blas_pools() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")


def _one_blas_thread() -> Any:
    """A context holding every loaded BLAS library to one thread (about 7 us to enter and leave)."""
    return _blas_pools().limit(limits=1)
