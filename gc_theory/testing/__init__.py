"""Check your own implementation: assertions, hypothesis strategies and a pytest plugin.

The assertions take *your* implementation (a callable, or arrays it produced),
measure it with the toolkit's own residuals and derived tolerances, return the
measurement when it passes and raise :class:`AssertionError` with the failing
case, the measured and allowed values (also in eps) and a diagnosis when it
does not; like :mod:`numpy.testing`, they are meant for ``pytest`` tests.

* GC and projections: :func:`assert_centralizes`, :func:`assert_projection`;
* gradients: :func:`assert_gradient` (an array or a dict of parameters),
  :func:`assert_hvp`.

Every assertion takes ``xp=`` or works in its inputs' namespace, so a PyTorch
or JAX implementation is checked in its own arrays (through
array-api-compat). ``import gc_theory.testing`` does not need hypothesis.
"""

from ._gc import assert_centralizes, assert_projection
from ._gradient import assert_gradient, assert_hvp

__all__ = [
    "assert_centralizes",
    "assert_gradient",
    "assert_hvp",
    "assert_projection",
]
