"""Tiny neural-network layers with analytic backward passes, written against the array API.

Layers hold sizes only; parameters are a dict of arrays (the form the
optimisers take), so training is ``loss, grads = net.loss_and_grad(params, batch)``
followed by ``params, state = opt.step(params, grads, state)``.

* :mod:`.layers`: :class:`Linear` (weight ``(out, in)``), :class:`Flatten`,
  :class:`ReLU`, :class:`Tanh`, :class:`Sigmoid`, :class:`Sequential`;
* :mod:`.conv`: :class:`Conv2d` (weight ``(out, in, kh, kw)``, stride, padding; im2col);
* :mod:`.losses`: :class:`SoftmaxCrossEntropy` (log-sum-exp), :class:`MeanSquaredError`;
* :mod:`.normalization`: :class:`WeightNorm` (of Linear or Conv2d), :class:`MeanOnlyBatchNorm`, :class:`BatchNorm`;
* :mod:`.network`: :class:`Network` (layers + loss, ``loss_and_grad``), :func:`mlp`, :func:`small_cnn`;
* :mod:`.catalogue`: :func:`catalogue`, every layer, loss and model as a small
  random :class:`~gc_theory.gradcheck.case.GradCase` for gradient checks, and
  each case's own wrong backward passes (:data:`~.catalogue.VARIANTS`);
* :mod:`.cases`: the registry of gradient cases, which registers both:
  :func:`~gc_theory.models.cases.gradient_cases` is every case and
  :func:`~gc_theory.models.cases.planted_bugs` the one list of planted bugs.
"""

from .catalogue import catalogue
from .conv import Conv2d, col2im, im2col
from .layers import Flatten, Layer, Linear, ReLU, Sequential, Sigmoid, Tanh
from .losses import Loss, MeanSquaredError, SoftmaxCrossEntropy, logsumexp
from .normalization import BatchNorm, MeanOnlyBatchNorm, WeightNorm, data_dependent_init_network
from .network import Network, mlp, small_cnn

__all__ = [
    "BatchNorm",
    "MeanOnlyBatchNorm",
    "WeightNorm",
    "data_dependent_init_network",
    "Conv2d",
    "Flatten",
    "Layer",
    "Linear",
    "Loss",
    "MeanSquaredError",
    "Network",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "Tanh",
    "catalogue",
    "col2im",
    "im2col",
    "logsumexp",
    "mlp",
    "small_cnn",
]
