"""Experiments that train networks and report what happens, one module per comparison.

* :mod:`.weightnorm`: plain, Weight Normalization, WN + mean-only batch norm and
  batch norm on the digits, over seeds and a learning-rate sweep.
* :mod:`.igr`: implicit gradient regularisation on the digits: full-batch GD
  over a grid of steps, and explicit regularisation at a small step.

The GC experiment lives in :mod:`gc_theory.training` next to the loop every
experiment reuses.
"""
