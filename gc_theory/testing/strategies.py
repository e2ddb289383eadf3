"""Hypothesis strategies for property tests: shapes, dtypes, backends, values, matrices, step ladders.

Public, so that a user's property tests draw the same weight shapes, float32
gradients and SPD matrices as the toolkit's own suite. Values are bounded and
finite: the theorems are stated for finite inputs. This module needs
hypothesis (``pip install gc-theory[testing]``); :mod:`gc_theory.testing`'s
assertions do not. :func:`array_strategies` gives hypothesis's array-API
strategies for any namespace.

>>> from hypothesis import given
>>> from gc_theory.testing.strategies import gradients
>>> @given(gradients())
... def test_shape(g):
...     assert g.ndim in (2, 4)
>>> test_shape()
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gc_theory.core.backend import BACKENDS, get_namespace, unavailable_reason

#: Backends usable here (cupy only where a GPU is visible), as names.
HOST_BACKENDS: tuple[str, ...] = tuple(b for b in BACKENDS if unavailable_reason(b) is None)

#: Weight shapes, output axis first: fully connected (out, in) and conv (out, in, kh, kw).
fc_shapes = st.tuples(st.integers(1, 40), st.integers(1, 60))
conv_shapes = st.tuples(st.integers(1, 12), st.integers(1, 8), st.integers(1, 4), st.integers(1, 4))
weight_shapes = st.one_of(fc_shapes, conv_shapes)
#: Small weight shapes for trajectories, with at least two entries per unit (so GC is not the zero map).
small_weight_shapes = st.one_of(
    st.tuples(st.integers(1, 6), st.integers(2, 12)),
    st.tuples(st.integers(1, 5), st.integers(1, 4), st.integers(1, 3), st.integers(2, 3)),
)

#: Dtypes as NumPy scalar types and as the names the registry takes.
np_dtypes = st.sampled_from([np.float64, np.float32])
dtype_names = st.sampled_from(["float64", "float32"])
backends = st.sampled_from(HOST_BACKENDS)
seeds = st.integers(0, 2**16)


def array_strategies(xp):
    """Hypothesis's array-API strategies (``arrays``, ``array_shapes``, ...) drawing arrays of namespace `xp`.

    A thin door to :func:`hypothesis.extra.array_api.make_strategies_namespace`,
    so a torch or array_api_strict test draws its own arrays.
    """
    from hypothesis.extra.array_api import make_strategies_namespace

    return make_strategies_namespace(xp)


def bounded_floats(bound: float = 100.0, width: int = 32) -> st.SearchStrategy[float]:
    """Finite floats in [-bound, bound], representable in float32 when width=32."""
    return st.floats(-bound, bound, allow_nan=False, allow_infinity=False, width=width)


@st.composite
def gradients(draw: st.DrawFn, shapes: st.SearchStrategy = weight_shapes, dtypes: st.SearchStrategy = np_dtypes,
              bound: float = 100.0) -> np.ndarray:
    """Bounded finite host gradients with a per-unit offset (real gradients rarely have zero mean)."""
    shape = draw(shapes)
    dtype = draw(dtypes)
    values = draw(arrays(dtype, shape, elements=bounded_floats(bound)))
    offset = draw(bounded_floats(bound / 2))
    return (values + dtype(offset)).astype(dtype)


@st.composite
def spd_matrices(draw: st.DrawFn, n: st.SearchStrategy[int] = st.integers(1, 8),
                 log10_condition: st.SearchStrategy[float] = st.floats(0.0, 4.0)) -> np.ndarray:
    """Symmetric positive definite float64 matrices with a drawn size and condition number.

    Built as Q diag(lambda) Q^T from a random orthogonal Q and eigenvalues spread
    log-uniformly over [1, kappa], so the condition number is what was drawn.
    """
    size = draw(n)
    kappa = 10.0 ** draw(log10_condition)
    seed = draw(seeds)
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((size, size)))
    lam = np.geomspace(1.0, kappa, size) if size > 1 else np.ones(1)
    return (q * lam) @ q.T


@st.composite
def step_ladders(draw: st.DrawFn, h_max: st.SearchStrategy[float] = st.floats(1e-3, 0.2),
                 ratio: st.SearchStrategy[int] = st.sampled_from([2, 4, 10]),
                 length: st.SearchStrategy[int] = st.integers(3, 6)) -> np.ndarray:
    """A geometric ladder of steps h_max, h_max/r, h_max/r^2, ... (decreasing)."""
    top, r, k = draw(h_max), draw(ratio), draw(length)
    return top / float(r) ** np.arange(k)


def on_backend(backend: str, host: np.ndarray):
    """Move a host array to `backend`'s namespace (same dtype)."""
    return get_namespace(backend).asarray(host)


@st.composite
def directions(draw: st.DrawFn, sizes: st.SearchStrategy[int] = st.integers(1, 80),
               dtypes: st.SearchStrategy = np_dtypes) -> np.ndarray:
    """Nonzero host vectors of any length and spread: the direction u of a rank-one projection.

    A random Gaussian direction times a drawn power-of-ten magnitude, with the
    entries of a drawn subset set to zero (sparse and axis-aligned directions
    are the corner cases of the projection's construction).
    """
    M = draw(sizes)
    dtype = draw(dtypes)
    rng = np.random.default_rng(draw(seeds))
    u = rng.standard_normal(M) * 10.0 ** draw(st.integers(-6, 6))
    zeros = draw(st.lists(st.integers(0, M - 1), max_size=M - 1, unique=True))
    u[zeros] = 0.0
    u = u.astype(dtype)
    if not np.any(u):
        u[0] = 1
    return u
