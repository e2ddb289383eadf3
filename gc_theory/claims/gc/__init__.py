"""Claims of Gradient Centralization (ids ``gc.*``), one module per sub-topic.

* :mod:`.projection`: P = I - e e^T (symmetric, idempotent, e^T P = 0, its
  spectrum), ``centralize`` against P in every layout, the Lipschitz bounds,
  output invariance under input shifts, the symbolic proofs;
* :mod:`.confinement`: hyperplane confinement of GC-trained weights in every
  optimiser and placement, and where it fails; the norm gap along a trajectory;
* :mod:`.projected_gd`: GC-SGD is projected gradient descent and converges to
  the constrained minimiser of a convex loss.
"""

# Importing registers the claims, in this order: the operator first, then what training with it does.
from . import projection  # noqa: I001, F401
from . import confinement  # noqa: F401
from . import projected_gd  # noqa: F401
