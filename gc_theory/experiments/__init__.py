"""Experiments that train networks and report what happens, one module per comparison.

* :mod:`.training`: the loops every experiment trains through (full-batch
  trajectories, mini-batch training with per-epoch curves).
* :mod:`.gc`: GC against no GC on the digits, for a small CNN and an MLP with
  SGD-momentum and Adam, paired by seed.
* :mod:`.weightnorm`: plain, Weight Normalization, WN + mean-only batch norm and
  batch norm on the digits, over seeds and a learning-rate sweep.
* :mod:`.igr`: implicit gradient regularisation on the digits: full-batch GD
  over a grid of steps, and explicit regularisation at a small step.
"""
