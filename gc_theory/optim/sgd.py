r"""Gradient descent with momentum and Nesterov momentum, in every common convention.

Written in the notation of Ruder's survey [1]_: parameters :math:`\theta`,
gradient :math:`g_t = \nabla_\theta J(\theta_{t-1})` (of the loss on a batch:
full batch, mini-batch or one example is the caller's choice), learning rate
:math:`\eta`, momentum :math:`\gamma`.

References
----------
.. [1] S. Ruder, "An overview of gradient descent optimization algorithms",
   arXiv:1609.04747, 2016, Sec. 2 (batch, stochastic, mini-batch), Sec. 4.1
   (momentum), Sec. 4.2 (Nesterov accelerated gradient).
.. [2] I. Sutskever, J. Martens, G. Dahl, G. Hinton, "On the importance of
   initialization and momentum in deep learning", ICML 2013, Eqs. (1)-(4).
.. [3] Y. Bengio, N. Boulanger-Lewandowski, R. Pascanu, "Advances in
   optimizing recurrent networks", ICASSP 2013, Sec. 3.5 (Nesterov in terms
   of the look-ahead point, the form torch.optim.SGD implements).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from gc_theory.core.backend import array_namespace
from gc_theory.core.validation import check_bool, check_choice, check_unit_interval
from ._base import LearningRate, Optimizer, Params, State

__all__ = ["MOMENTUM_FORMS", "NESTEROV_FORMS", "SGD", "SGDState", "SGDW", "sgd", "sgdw"]

#: How the momentum buffer is accumulated (see :class:`SGD`).
MOMENTUM_FORMS = ("torch", "velocity", "ewma")
#: Where the Nesterov gradient is evaluated (see :class:`SGD`).
NESTEROV_FORMS = ("torch", "lookahead")


class SGDState(NamedTuple):
    """State of :class:`SGD` and :class:`SGDW`: completed steps and the momentum buffer (empty without momentum).

    The buffer is torch's :math:`b`, Ruder's velocity :math:`v` or the average
    :math:`m`, as `momentum_form` says.
    """

    step: int
    momentum_buffer: dict[str, Any]


class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional momentum and Nesterov momentum.

    Without momentum (Ruder, Sec. 2):

    .. math:: \theta_t = \theta_{t-1} - \eta_t\, g_t .

    Momentum comes in three forms, selected by `momentum_form`:

    ``"velocity"``, Ruder's Eq. for momentum (Sec. 4.1), the learning rate
    inside the accumulator:

    .. math:: v_t = \gamma v_{t-1} + \eta_t g_t, \qquad \theta_t = \theta_{t-1} - v_t .

    ``"torch"`` (default), torch.optim.SGD's buffer with dampening
    :math:`\tau`, the learning rate outside (:math:`b_1 = g_1`):

    .. math:: b_t = \gamma b_{t-1} + (1 - \tau) g_t, \qquad \theta_t = \theta_{t-1} - \eta_t b_t .

    With :math:`\tau = 0` and a constant :math:`\eta` this is the velocity form
    with :math:`v_t = \eta b_t`: identical iterates. With a schedule they
    differ (a change of :math:`\eta` rescales past gradients in the torch form
    only).

    ``"ewma"``, an exponentially weighted average of the gradients
    (:math:`m_0 = 0`):

    .. math:: m_t = \beta m_{t-1} + (1 - \beta) g_t, \qquad \theta_t = \theta_{t-1} - \alpha_t m_t .

    With :math:`\beta = \gamma` and :math:`\alpha = \eta/(1 - \beta)` it gives
    the iterates of the velocity form (claim ``optim.momentum.forms_agree``).
    It differs from torch's dampening :math:`\tau = 1 - \beta` only in the
    first step, where torch takes :math:`b_1 = g_1` rather than :math:`(1-\beta) g_1`.

    Nesterov momentum, selected by `nesterov_form`:

    ``"lookahead"``, Ruder's Eq. for NAG (Sec. 4.2): the gradient is taken at
    the look-ahead point :math:`\theta_{t-1} - \gamma v_{t-1}`, which
    :meth:`gradient_point` returns, so a training loop evaluates
    ``grads = grad(opt.gradient_point(params, state))``:

    .. math:: v_t = \gamma v_{t-1} + \eta_t \nabla_\theta J(\theta_{t-1} - \gamma v_{t-1}), \qquad
              \theta_t = \theta_{t-1} - v_t .

    ``"torch"`` (default), Sutskever's/Bengio's rewriting in the look-ahead
    variable :math:`\phi = \theta - \gamma v` [2]_ [3]_, which needs the
    gradient at the stored parameters only (torch.optim.SGD with
    ``nesterov=True``):

    .. math:: b_t = \gamma b_{t-1} + g_t(\phi_{t-1}), \qquad
              \phi_t = \phi_{t-1} - \eta_t (g_t + \gamma b_t) .

    With constant :math:`\eta` the two produce the same iterates after the
    change of variables :math:`\phi_t = \theta_t - \gamma v_t`,
    :math:`v_t = \eta b_t` (claim ``optim.nesterov.forms_agree``).

    Coupled weight decay :math:`\lambda` (torch's ``weight_decay``) replaces
    :math:`g_t` by :math:`g_t + \lambda \theta_{t-1}` before anything else.

    Parameters
    ----------
    lr : float or callable
        :math:`\eta`, or a schedule of the number of completed steps.
    momentum : float
        :math:`\gamma` (or :math:`\beta` in the ``"ewma"`` form), in [0, 1).
    dampening : float
        torch's :math:`\tau`, in [0, 1]; only with ``momentum_form="torch"``.
    nesterov : bool
        Nesterov momentum (needs ``momentum > 0`` and no dampening, as in torch).
    weight_decay : float
        Coupled L2 decay :math:`\lambda \ge 0`.
    momentum_form : {"torch", "velocity", "ewma"}, optional
        Default ``"torch"``, or ``"velocity"`` with ``nesterov_form="lookahead"``.
    nesterov_form : {"torch", "lookahead"}
        The Nesterov form; ``"lookahead"`` keeps the velocity :math:`v`.
    gc, gc_conv_only
        Gradient Centralization, see :mod:`gc_theory.optim`.

    Examples
    --------
    >>> import numpy as np
    >>> from gc_theory.optim import SGD
    >>> params = {"fc.weight": np.array([[1.0, 2.0, 3.0]]), "fc.bias": np.zeros(1)}
    >>> grads = {"fc.weight": np.array([[1.0, 1.0, 4.0]]), "fc.bias": np.ones(1)}
    >>> opt = SGD(lr=0.1, momentum=0.9, gc="gradient")
    >>> params, state = opt.step(params, grads, opt.init(params))
    >>> params["fc.weight"]                    # w - lr P g: the row still sums to 6
    array([[1.1, 2.1, 2.8]])
    >>> params["fc.bias"], state.step          # a bias is never centralised
    (array([-0.1]), 1)

    """

    name = "sgd"
    State = SGDState

    def __init__(
        self,
        lr: LearningRate,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        *,
        momentum_form: str | None = None,
        nesterov_form: str = "torch",
        gc: str | None = None,
        gc_conv_only: bool = False,
    ):
        super().__init__(lr=lr, weight_decay=weight_decay, gc=gc, gc_conv_only=gc_conv_only)
        self.momentum = check_unit_interval(momentum, "momentum")
        self.dampening = check_unit_interval(dampening, "dampening", closed="both")
        nesterov = check_bool(nesterov, "nesterov")
        nesterov_form = check_choice(nesterov_form, "nesterov_form", NESTEROV_FORMS)
        lookahead = nesterov and nesterov_form == "lookahead"
        if momentum_form is None:
            momentum_form = "velocity" if lookahead else "torch"
        momentum_form = check_choice(momentum_form, "momentum_form", MOMENTUM_FORMS)
        if nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError("nesterov=True needs momentum > 0 and dampening = 0 (as in torch.optim.SGD)")
        if nesterov and momentum_form == "ewma":
            raise ValueError("nesterov=True needs momentum_form 'torch' or 'velocity', not 'ewma'")
        if lookahead and momentum_form != "velocity":
            raise ValueError("nesterov_form='lookahead' keeps Ruder's velocity: momentum_form must be 'velocity'")
        if self.dampening != 0 and momentum_form != "torch":
            raise ValueError("dampening is torch's parameter: use it with momentum_form='torch'")
        self.nesterov = nesterov
        self.momentum_form = momentum_form
        self.nesterov_form = nesterov_form

    def _init_slot(self, p: Any) -> dict[str, Any]:
        if self.momentum == 0:
            return {}
        return {"momentum_buffer": array_namespace(p).zeros_like(p)}

    def gradient_point(self, params: Params, state: State) -> dict[str, Any]:
        """The look-ahead point :math:`\\theta - \\gamma v` for ``nesterov_form="lookahead"``, else `params`."""
        if not (self.nesterov and self.nesterov_form == "lookahead"):
            return dict(params)
        self._check_state(state, params)
        return {k: p - self.momentum * state.momentum_buffer[k] for k, p in params.items()}

    def _rule(self, p: Any, g: Any, slot: Mapping[str, Any], lr: float, t: int,
              owned: bool = False) -> tuple[Any, dict[str, Any]]:  # fmt: skip
        mu = self.momentum
        if mu == 0:
            return lr * g, {}
        b = slot["momentum_buffer"]
        if self.momentum_form == "velocity":
            v = mu * b + lr * g
            if self.nesterov and self.nesterov_form == "torch":
                return lr * g + mu * v, {"momentum_buffer": v}
            return v, {"momentum_buffer": v}
        if self.momentum_form == "ewma":
            m = mu * b + (1.0 - mu) * g
            return lr * m, {"momentum_buffer": m}
        # torch.optim.SGD: the first buffer is the gradient itself, undamped. GC fused into the buffer: an
        # owned (decayed or centralised) gradient becomes the new buffer in place instead of a further copy.
        if t == 1:
            b = g if owned and not self.nesterov else array_namespace(g).asarray(g, copy=True)
        elif owned and not self.nesterov and self.dampening == 0:
            g += mu * b  # fl(mu b + g): the same rounding as the out-of-place sum
            b = g
        else:
            b = mu * b + (1.0 - self.dampening) * g
        if self.nesterov:
            return lr * (g + mu * b), {"momentum_buffer": b}
        return lr * b, {"momentum_buffer": b}


class SGDW(SGD):
    r"""SGD with decoupled weight decay (SGDW).

    Loshchilov & Hutter [4]_, Algorithm 1, with the schedule multiplier folded
    into :math:`\eta_t` as torch's AdamW does, in any momentum form of
    :class:`SGD` (here the torch form):

    .. math:: b_t = \gamma b_{t-1} + g_t, \qquad
              \theta_t = \theta_{t-1} - \eta_t\,(b_t + \lambda\, \theta_{t-1}) .

    The decay never enters the gradient or the momentum. With
    ``gc="gradient"`` the term :math:`\eta_t \lambda \theta_{t-1}` is applied
    uncentralised and the weights leave the GC hyperplane; with
    ``gc="update"`` the whole step is centralised and they stay on it, unlike
    :class:`SGD`'s coupled decay, which stays on it with either placement
    (claims ``gc.confinement.coupled_decay`` and ``gc.confinement.decoupled_decay``).

    Examples
    --------
    >>> import numpy as np
    >>> from gc_theory.optim import SGDW
    >>> params, grads = {"w": np.array([[1.0, 2.0, 3.0]])}, {"w": np.array([[1.0, 1.0, 4.0]])}
    >>> opt = SGDW(lr=0.1, weight_decay=0.01, gc="update")   # decoupled decay, then GC of the whole step
    >>> params, state = opt.step(params, grads, opt.init(params))
    >>> params["w"]
    array([[1.101, 2.1  , 2.799]])

    References
    ----------
    .. [4] I. Loshchilov, F. Hutter, "Decoupled Weight Decay Regularization",
       ICLR 2019, Algorithm 1.
    """

    name = "sgdw"
    coupled_decay = False

    def _rule(self, p: Any, g: Any, slot: Mapping[str, Any], lr: float, t: int,
              owned: bool = False) -> tuple[Any, dict[str, Any]]:  # fmt: skip
        update, new = super()._rule(p, g, slot, lr, t, owned)
        if self.weight_decay:
            update = update + (lr * self.weight_decay) * p
        return update, new


