r"""Weight Normalization, its gradients and Hessian-vector product, data-dependent initialisation.

Weight Normalization [1]_ writes every output unit's weight vector as a length
times a direction,

.. math::

    w = g\,\frac{v}{\|v\|}, \qquad \|w\| = |g|,

so that the optimiser moves the length :math:`g` and the direction
:math:`v/\|v\|` separately. The gradient of v passes through the projection
:math:`M_w = I - w w^\top/\|w\|^2`, the construction GC applies with :math:`e` in
place of :math:`w` (:mod:`.reparam` derives both gradients).

A weight is stored output axis first, ``(out, in)`` or ``(out, in, kh, kw)``;
``axis`` names the output-unit axis, the one that keeps one g per unit (torch's
``dim=0``). Any axis may be named, negative axes meaning what NumPy means, so
Keras/Flax layouts ``(..., in, out)`` are reached with ``axis=-1``;
``axis=None`` normalises the whole tensor with a 0-d g.

A layer need not form w at all: it can scale its output by :math:`g/\|v\|`
(Sec. 2 of [1]_), and :func:`weight_norm_scaled_backward` gives the gradients
of that form from the plain layer's weight gradient, in place.

One module per concept, every name re-exported here:

* :mod:`.reparam`: :func:`weight_norm`, :func:`weight_norm_backward`,
  :func:`weight_norm_scaled_backward`, :func:`weight_norm_hvp`, :func:`log_scale`;
* :mod:`.initialization`: :func:`data_dependent_init` (Sec. 3 of [1]_);
* :mod:`.standardization`: :func:`weight_standardization` (the zero-mean,
  unit-variance reparameterisation whose backward centralises);
* :mod:`.batchnorm`: the per-unit statistics of mean-only and full batch
  normalisation (:func:`mean_only_batch_norm`, :func:`batch_norm`), so that the
  layers of :mod:`gc_theory.models.normalization` only call them.

>>> import numpy as np
>>> from gc_theory.weightnorm import weight_norm
>>> v = np.array([[3.0, 4.0], [0.0, 2.0]])
>>> weight_norm(v, np.array([10.0, 0.5]))     # each row: g times the unit direction of v
array([[6. , 8. ],
       [0. , 0.5]])

Everything is written against the array API: the inputs decide the namespace
and dtype of the outputs. Norms are accumulated in the input's precision after
dividing each unit by its largest entry, so ``||v||`` neither overflows nor
underflows for any finite v.

References
----------
.. [1] T. Salimans, D. P. Kingma, "Weight Normalization: A Simple
   Reparameterization to Accelerate Training of Deep Neural Networks",
   NeurIPS 2016, arXiv:1602.07868.
.. [2] S. Qiao, H. Wang, C. Liu, W. Shen, A. Yuille, "Micro-Batch Training
   with Batch-Channel Normalization and Weight Standardization",
   arXiv:1903.10520 (weight standardisation).
.. [3] S. Ioffe, C. Szegedy, "Batch Normalization", ICML 2015, Alg. 1.
"""

from ._units import unit_norms
from .batchnorm import batch_norm, batch_norm_backward, mean_only_batch_norm, mean_only_batch_norm_backward
from .initialization import data_dependent_init, data_dependent_init_raw_sigma, init_from_preactivations
from .reparam import log_scale, log_scale_backward, weight_norm, weight_norm_backward, weight_norm_hvp, weight_norm_scaled_backward
from .standardization import weight_standardization, weight_standardization_backward

__all__ = [
    "batch_norm",
    "batch_norm_backward",
    "data_dependent_init",
    "data_dependent_init_raw_sigma",
    "init_from_preactivations",
    "log_scale",
    "log_scale_backward",
    "mean_only_batch_norm",
    "mean_only_batch_norm_backward",
    "unit_norms",
    "weight_norm",
    "weight_norm_backward",
    "weight_norm_hvp",
    "weight_norm_scaled_backward",
    "weight_standardization",
    "weight_standardization_backward",
]
