"""gc-theory: the theory of deep-learning optimisation, made checkable.

Gradient Centralization, Weight Normalization, finite-difference gradient
checking and implicit gradient regularisation, each as code that a reader can
run, see pass to within rounding when a claim is true, and see fail when it is
false. Every verified statement lives in :mod:`gc_theory.claims`.

>>> import numpy as np
>>> from gc_theory import centralize
>>> g = np.array([[1.0, 2.0, 3.0], [4.0, 4.0, 7.0]])
>>> centralize(g)
array([[-1., 0., 1.],
       [-1., -1., 2.]])
"""

from .centralization import (
    as_columns,
    centralize,
    fan_in,
    from_columns,
    is_centralizable,
    projection_matrix,
    reduction_axes,
    unit_vector,
)
from .projections import project_out, rank_one_projection

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "as_columns",
    "centralize",
    "fan_in",
    "from_columns",
    "is_centralizable",
    "project_out",
    "projection_matrix",
    "rank_one_projection",
    "reduction_axes",
    "unit_vector",
]
