r"""Optimisers as pure functions of explicit state, each with Gradient Centralization built in.

::

    from gc_theory import optim

    opt = optim.SGD(lr=0.1, momentum=0.9, gc="gradient")
    state = opt.init(params)                        # params: dict of arrays, any backend
    for batch in batches:
        grads = grad_fn(opt.gradient_point(params, state), batch)
        params, state = opt.step(params, grads, state)

Every optimiser takes torch.optim's hyperparameter names (``lr``, ``momentum``,
``dampening``, ``nesterov``, ``betas``, ``eps``, ``alpha``, ``rho``,
``weight_decay``, ...), a learning rate that is a number or a schedule
(:mod:`~gc_theory.optim.schedules`), and ``gc=None | "gradient" | "update"``
with ``gc_conv_only`` (placement rules in :mod:`gc_theory.optim._base`). A step
never modifies its inputs: it returns new arrays and a new state, so a run can
be replayed from any saved state and two optimisers compared step by step.

Available, one constructor each, named as in torch.optim: :class:`SGD` (plain,
momentum in three conventions, Nesterov in two forms), :class:`SGDW` (decoupled
decay), :class:`AdaGrad`, :class:`RMSprop`, :class:`Adadelta`, :class:`Adam`,
:class:`AdamW`, :class:`NAdam`, the moving average :class:`EWMA`, and the schedules
:func:`tenfold_decay`, :func:`exponential_decay`, :func:`step_decay`, and the gradient clipping functions
:func:`clip_grad_norm` and :func:`clip_grad_value`. Each
optimiser's state is a typed NamedTuple (:class:`SGDState`, :class:`AdamState`,
...). :func:`record_trajectory` runs an optimiser for a number of steps and
keeps every iterate.
"""

from ._base import GC_MODES, GCSkipWarning, Optimizer
from .adaptive import (
    Adadelta, AdadeltaState, AdaGrad, AdaGradState, Adam, AdamState, AdamW, RMSprop, RMSpropState,
)  # fmt: skip
from .clipping import clip_grad_norm, clip_grad_value
from .ewma import EWMA
from .nadam import NAdam
from .schedules import exponential_decay, step_decay, tenfold_decay
from .sgd import SGD, SGDW, SGDState
from .trajectory import Trajectory, record_trajectory

__all__ = [
    "clip_grad_norm",
    "clip_grad_value",
    "EWMA",
    "GC_MODES",
    "SGD",
    "SGDW",
    "Trajectory",
    "AdaGrad",
    "AdaGradState",
    "Adadelta",
    "AdadeltaState",
    "Adam",
    "AdamState",
    "AdamW",
    "GCSkipWarning",
    "NAdam",
    "Optimizer",
    "RMSprop",
    "RMSpropState",
    "SGDState",
    "exponential_decay",
    "record_trajectory",
    "step_decay",
    "tenfold_decay",
]
