"""Claims about optimisers and GC training (ids ``gc.confinement.*``, ``gc.projected_gd.*``, ``optim.*``).

* :mod:`.confinement`: hyperplane confinement of GC-SGD, momentum and Nesterov,
  and where it fails (adaptive methods with GC on the gradient, decoupled decay);
  the norm gap ||g||^2 - ||P g||^2 = M mean(g)^2 along a trajectory;
* :mod:`.convex`: GC-SGD is projected gradient descent and converges to the
  constrained minimiser of a convex loss;
* :mod:`.forms`: the two Nesterov forms, the momentum forms and the EWMA's
  bias correction.
"""

from . import confinement, convex, forms  # noqa: F401  (importing registers the claims)
