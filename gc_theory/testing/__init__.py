"""Check your own implementation: assertions, hypothesis strategies and a pytest plugin.

The assertions take *your* implementation (a callable, or arrays it produced),
measure it with the toolkit's own residuals and derived tolerances, return the
measurement when it passes and raise :class:`AssertionError` with the failing
case, the measured and allowed values (also in eps) and a diagnosis when it
does not; like :mod:`numpy.testing`, they are meant for ``pytest`` tests.

* GC and projections: :func:`assert_centralizes`, :func:`assert_projection`;
* gradients: :func:`assert_gradient` (an array or a dict of parameters),
  :func:`assert_hvp`;
* Weight Normalization: :func:`assert_weight_norm` (forward and backward);
* optimisers: :func:`assert_optimizer_matches` (a step against any optimiser
  of :mod:`gc_theory.optim`, with :func:`torch_step` for a ``torch.optim``
  class) and :func:`assert_confined` (GC's hyperplane on a trajectory);
* implicit gradient regularisation: :func:`assert_modified_loss` (a modified
  gradient against the local-error order 3 that backward error analysis predicts).

Every assertion takes ``xp=`` or works in its inputs' namespace, so a PyTorch
or JAX implementation is checked in its own arrays (through
array-api-compat). ``import gc_theory.testing`` does not need hypothesis.
"""

from ._gc import assert_centralizes, assert_projection
from ._gradient import assert_gradient, assert_hvp
from ._igr import assert_modified_loss
from ._optim import assert_confined, assert_optimizer_matches, torch_step
from ._weightnorm import assert_weight_norm

__all__ = [
    "assert_centralizes",
    "assert_confined",
    "assert_optimizer_matches",
    "assert_weight_norm",
    "torch_step",
    "assert_gradient",
    "assert_hvp",
    "assert_modified_loss",
    "assert_projection",
]
