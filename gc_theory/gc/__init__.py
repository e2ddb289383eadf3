r"""Gradient Centralization: the operator, its matrix P, rank-one projections and weight layouts.

* :mod:`.centralization`: ``centralize`` (GC of a gradient, any layout and
  floating dtype, in place with ``out=``), the matrix
  :math:`P = I - e e^\top` and the unit vector e;
* :mod:`.layouts`: the two views of a weight (output-axis-first storage and
  the paper's column matrix), reduction axes, fan-in;
* :mod:`.projections`: the rank-one projection :math:`I - u u^\top/u^\top u`
  shared with Weight Normalization's :math:`M_w`, and the residuals that
  measure its properties;
* :mod:`.symbolic`: P's identities proved in SymPy for a symbolic size M
  (CPU only, imported on demand).

>>> import numpy as np
>>> from gc_theory.gc import centralize
>>> centralize(np.array([[1.0, 2.0, 3.0]]))
array([[-1.,  0.,  1.]])
"""

from . import centralization
from .centralization import *  # noqa: F403 - the operator's public names are the package's
from .projections import project_out, rank_one_projection

__all__ = [*centralization.__all__, "project_out", "rank_one_projection"]
