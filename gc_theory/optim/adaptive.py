r"""Adaptive methods: AdaGrad, RMSprop, Adadelta, Adam and AdamW.

Written in the notation of Ruder's survey [1]_ (Sec. 4.3-4.6): gradient
:math:`g_t` (after coupled L2 decay, and after GC with ``gc="gradient"``),
learning rate :math:`\eta`, element-wise products and square roots.
Hyperparameter names and the placement of :math:`\epsilon` follow torch.optim,
so that 50-step trajectories agree with torch to rounding (tests/optim/test_torch.py);
where Ruder writes the formula differently the docstring says how they map.

Element-wise scaling is why these methods leave the GC hyperplane with
``gc="gradient"``: :math:`P g` has zero mean, but :math:`P g / (\sqrt{v} + \epsilon)`
does not. With ``gc="update"`` the applied step is centralised and the
weights stay on the plane (claims ``gc.confinement.adaptive_*``).

References
----------
.. [1] S. Ruder, "An overview of gradient descent optimization algorithms",
   arXiv:1609.04747, 2016, Sec. 4.3 (Adagrad), 4.4 (Adadelta), 4.5 (RMSprop),
   4.6 (Adam).
.. [2] I. Loshchilov, F. Hutter, "Decoupled Weight Decay Regularization",
   ICLR 2019, Algorithm 2 (AdamW).
.. [3] S. J. Reddi, S. Kale, S. Kumar, "On the Convergence of Adam and Beyond",
   ICLR 2018 (AMSGrad).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from gc_theory.core.backend import array_namespace
from gc_theory.core.validation import check_bool, check_nonnegative, check_unit_interval
from ._base import LearningRate, Optimizer, check_eps

__all__ = [
    "AdaGrad", "AdaGradState", "Adadelta", "AdadeltaState", "Adam", "AdamState", "AdamW", "RMSprop", "RMSpropState",
    "adadelta", "adagrad", "adam", "adamw", "rmsprop",
]  # fmt: skip


def _check_betas(betas: Any) -> tuple[float, float]:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    return check_unit_interval(betas[0], "betas[0]"), check_unit_interval(betas[1], "betas[1]")


class AdaGradState(NamedTuple):
    """State of :class:`AdaGrad`: completed steps and the sum of squared gradients :math:`G_t`."""

    step: int
    sum: dict[str, Any]


class RMSpropState(NamedTuple):
    """State of :class:`RMSprop`: :math:`E[g^2]`, and :math:`E[g]` (centered) and the momentum buffer when used."""

    step: int
    square_avg: dict[str, Any]
    grad_avg: dict[str, Any]
    momentum_buffer: dict[str, Any]


class AdadeltaState(NamedTuple):
    r"""State of :class:`Adadelta`: :math:`E[g^2]` and :math:`E[\Delta\theta^2]`."""

    step: int
    square_avg: dict[str, Any]
    acc_delta: dict[str, Any]


class AdamState(NamedTuple):
    r"""State of :class:`Adam` and :class:`AdamW`: the moments :math:`m`, :math:`v`, and :math:`\max v` with amsgrad."""

    step: int
    exp_avg: dict[str, Any]
    exp_avg_sq: dict[str, Any]
    max_exp_avg_sq: dict[str, Any]


class AdaGrad(Optimizer):
    r"""AdaGrad: per-coordinate steps scaled by the root of the summed squared gradients.

    Ruder, Sec. 4.3, with :math:`G_t = G_{t-1} + g_t \odot g_t`:

    .. math:: \theta_t = \theta_{t-1} - \frac{\eta}{\sqrt{G_t + \epsilon}} \odot g_t .

    torch.optim.Adagrad (implemented here) adds :math:`\epsilon` outside the
    root, starts from :math:`G_0 = ` `initial_accumulator_value`, and decays
    the rate as :math:`\eta_t = \eta / (1 + (t-1)\,\mathrm{lr\_decay})`:

    .. math:: \theta_t = \theta_{t-1} - \frac{\eta_t}{\sqrt{G_t} + \epsilon} \odot g_t .

    Examples
    --------
    >>> import numpy as np
    >>> from gc_theory.optim import AdaGrad
    >>> params, grads = {"w": np.array([1.0, 2.0])}, {"w": np.array([3.0, -0.5])}
    >>> opt = AdaGrad(lr=0.1)
    >>> params, state = opt.step(params, grads, opt.init(params))
    >>> params["w"].round(6)                   # the first step is lr * sign(g) per coordinate
    array([0.9, 2.1])
    >>> state.sum                              # the sum of squared gradients
    {'w': array([9.  , 0.25])}

    """

    name = "adagrad"
    State = AdaGradState

    def __init__(self, lr: LearningRate = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, *,
                 gc: str | None = None, gc_conv_only: bool = False):  # fmt: skip
        super().__init__(lr=lr, weight_decay=weight_decay, gc=gc, gc_conv_only=gc_conv_only)
        self.lr_decay = check_nonnegative(lr_decay, "lr_decay")
        self.initial_accumulator_value = check_nonnegative(initial_accumulator_value, "initial_accumulator_value")
        self.eps = check_eps(eps)

    def _init_slot(self, p: Any) -> dict[str, Any]:
        xp = array_namespace(p)
        return {"sum": xp.full(p.shape, self.initial_accumulator_value, dtype=p.dtype)}

    def _rule(self, p: Any, g: Any, slot: Mapping[str, Any], lr: float, t: int,
              owned: bool = False) -> tuple[Any, dict[str, Any]]:  # fmt: skip
        xp = array_namespace(g)
        G = slot["sum"] + g * g
        clr = lr / (1.0 + (t - 1) * self.lr_decay)
        return clr * g / (xp.sqrt(G) + self.eps), {"sum": G}


class RMSprop(Optimizer):
    r"""RMSprop: steps scaled by a running root-mean-square of the gradients.

    Ruder, Sec. 4.5, with decay :math:`\gamma` (torch's `alpha`, Hinton's 0.9, torch's default 0.99):

    .. math:: E[g^2]_t = \gamma E[g^2]_{t-1} + (1-\gamma) g_t^2, \qquad
              \theta_t = \theta_{t-1} - \frac{\eta}{\sqrt{E[g^2]_t + \epsilon}} g_t .

    torch.optim.RMSprop (implemented here) adds :math:`\epsilon` outside the
    root. ``centered=True`` divides by an estimate of the standard deviation
    instead, :math:`\sqrt{E[g^2]_t - E[g]_t^2} + \epsilon`, and
    ``momentum`` :math:`\mu > 0` accumulates the scaled step,
    :math:`b_t = \mu b_{t-1} + g_t/(\sqrt{\cdot} + \epsilon)`,
    :math:`\theta_t = \theta_{t-1} - \eta b_t`.

    Examples
    --------
    >>> import numpy as np
    >>> from gc_theory.optim import RMSprop
    >>> params, grads = {"w": np.array([1.0, 2.0])}, {"w": np.array([3.0, -0.5])}
    >>> opt = RMSprop(lr=0.01, alpha=0.99)
    >>> params, state = opt.step(params, grads, opt.init(params))
    >>> params["w"].round(6)                   # lr g / sqrt((1 - alpha) g^2) = 10 lr sign(g)
    array([0.9, 2.1])

    """

    name = "rmsprop"
    State = RMSpropState

    def __init__(self, lr: LearningRate = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False, *,
                 gc: str | None = None, gc_conv_only: bool = False):  # fmt: skip
        super().__init__(lr=lr, weight_decay=weight_decay, gc=gc, gc_conv_only=gc_conv_only)
        self.alpha = check_unit_interval(alpha, "alpha")
        self.eps = check_eps(eps)
        self.momentum = check_unit_interval(momentum, "momentum")
        self.centered = check_bool(centered, "centered")

    def _init_slot(self, p: Any) -> dict[str, Any]:
        xp = array_namespace(p)
        slot = {"square_avg": xp.zeros_like(p)}
        if self.centered:
            slot["grad_avg"] = xp.zeros_like(p)
        if self.momentum > 0:
            slot["momentum_buffer"] = xp.zeros_like(p)
        return slot

    def _rule(self, p: Any, g: Any, slot: Mapping[str, Any], lr: float, t: int,
              owned: bool = False) -> tuple[Any, dict[str, Any]]:  # fmt: skip
        xp = array_namespace(g)
        a = self.alpha
        new = {"square_avg": a * slot["square_avg"] + (1.0 - a) * (g * g)}
        if self.centered:
            new["grad_avg"] = a * slot["grad_avg"] + (1.0 - a) * g
            avg = xp.sqrt(new["square_avg"] - new["grad_avg"] * new["grad_avg"]) + self.eps
        else:
            avg = xp.sqrt(new["square_avg"]) + self.eps
        if self.momentum > 0:
            new["momentum_buffer"] = self.momentum * slot["momentum_buffer"] + g / avg
            return lr * new["momentum_buffer"], new
        return lr * g / avg, new


class Adadelta(Optimizer):
    r"""Adadelta: RMSprop with the step's own running RMS in place of a learning rate.

    Ruder, Sec. 4.4, with decay :math:`\gamma` (torch's `rho`) and
    :math:`\mathrm{RMS}[x]_t = \sqrt{E[x^2]_t + \epsilon}`:

    .. math::
        E[g^2]_t = \gamma E[g^2]_{t-1} + (1-\gamma) g_t^2, \qquad
        \Delta\theta_t = -\frac{\mathrm{RMS}[\Delta\theta]_{t-1}}{\mathrm{RMS}[g]_t} g_t,

        E[\Delta\theta^2]_t = \gamma E[\Delta\theta^2]_{t-1} + (1-\gamma) \Delta\theta_t^2, \qquad
        \theta_t = \theta_{t-1} + \eta\, \Delta\theta_t .

    Ruder's form has :math:`\eta = 1`; torch.optim.Adadelta (implemented
    here, default ``lr=1.0``) scales the applied step by `lr` but accumulates
    the unscaled :math:`\Delta\theta_t`. With ``gc="update"`` the applied step
    :math:`\eta\,\Delta\theta_t` is centralised; the accumulator keeps the
    uncentralised one.

    Examples
    --------
    >>> import numpy as np
    >>> from gc_theory.optim import Adadelta
    >>> params, grads = {"w": np.array([1.0, 2.0])}, {"w": np.array([3.0, -0.5])}
    >>> opt = Adadelta(lr=1.0, rho=0.9, eps=1e-6)
    >>> params, state = opt.step(params, grads, opt.init(params))
    >>> params["w"].round(5)                   # about sqrt(eps / (1 - rho)) sign(g) on the first step
    array([0.99684, 2.00316])

    """

    name = "adadelta"
    State = AdadeltaState

    def __init__(self, lr: LearningRate = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0, *,
                 gc: str | None = None, gc_conv_only: bool = False):  # fmt: skip
        super().__init__(lr=lr, weight_decay=weight_decay, gc=gc, gc_conv_only=gc_conv_only)
        self.rho = check_unit_interval(rho, "rho")
        self.eps = check_eps(eps)

    def _init_slot(self, p: Any) -> dict[str, Any]:
        xp = array_namespace(p)
        return {"square_avg": xp.zeros_like(p), "acc_delta": xp.zeros_like(p)}

    def _rule(self, p: Any, g: Any, slot: Mapping[str, Any], lr: float, t: int,
              owned: bool = False) -> tuple[Any, dict[str, Any]]:  # fmt: skip
        xp = array_namespace(g)
        r = self.rho
        sq = r * slot["square_avg"] + (1.0 - r) * (g * g)
        delta = xp.sqrt(slot["acc_delta"] + self.eps) / xp.sqrt(sq + self.eps) * g
        acc = r * slot["acc_delta"] + (1.0 - r) * (delta * delta)
        return lr * delta, {"square_avg": sq, "acc_delta": acc}


class Adam(Optimizer):
    r"""Adam: bias-corrected moving averages of the gradient and its square.

    Ruder, Sec. 4.6:

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,

        \hat m_t = \frac{m_t}{1-\beta_1^t}, \qquad \hat v_t = \frac{v_t}{1-\beta_2^t}, \qquad
        \theta_t = \theta_{t-1} - \frac{\eta}{\sqrt{\hat v_t} + \epsilon} \hat m_t .

    This is torch.optim.Adam's rule too (`betas` = :math:`(\beta_1, \beta_2)`);
    torch's ``weight_decay`` is coupled L2 (added to :math:`g_t`), unlike
    :class:`AdamW`. ``amsgrad=True`` divides by the running maximum
    :math:`\hat v^{\max}_t = \max(\hat v^{\max}_{t-1}, v_t)/(1-\beta_2^t)` [3]_.

    Examples
    --------
    >>> import numpy as np
    >>> from gc_theory.optim import Adam
    >>> params, grads = {"w": np.array([[1.0, 2.0, 3.0]])}, {"w": np.array([[1.0, -1.0, 4.0]])}
    >>> opt = Adam(lr=0.1, gc="update")        # GC on the final step: the row sum is kept
    >>> params, state = opt.step(params, grads, opt.init(params))
    >>> params["w"].round(6)
    array([[0.933333, 2.133333, 2.933333]])
    >>> float(params["w"].sum().round(12)), state.step
    (6.0, 1)

    """

    name = "adam"
    State = AdamState

    def __init__(self, lr: LearningRate = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *,
                 gc: str | None = None, gc_conv_only: bool = False):  # fmt: skip
        super().__init__(lr=lr, weight_decay=weight_decay, gc=gc, gc_conv_only=gc_conv_only)
        self.betas = _check_betas(betas)
        self.eps = check_eps(eps)
        self.amsgrad = check_bool(amsgrad, "amsgrad")

    def _init_slot(self, p: Any) -> dict[str, Any]:
        xp = array_namespace(p)
        slot = {"exp_avg": xp.zeros_like(p), "exp_avg_sq": xp.zeros_like(p)}
        if self.amsgrad:
            slot["max_exp_avg_sq"] = xp.zeros_like(p)
        return slot

    def _adam_step(self, g: Any, slot: Mapping[str, Any], lr: float, t: int, owned: bool) -> tuple[Any, dict[str, Any]]:
        xp = array_namespace(g)
        b1, b2 = self.betas
        exp_avg = b1 * slot["exp_avg"] + (1.0 - b1) * g
        # GC fused into the second moment: the centralised copy of g (the one array GC adds) is squared in
        # place into the g*g temporary the step needs anyway, so a GC step allocates no more than a plain one.
        if owned:
            g *= g
            square = g
        else:
            square = g * g
        new = {"exp_avg": exp_avg, "exp_avg_sq": b2 * slot["exp_avg_sq"] + (1.0 - b2) * square}
        second = new["exp_avg_sq"]
        if self.amsgrad:
            new["max_exp_avg_sq"] = second = xp.maximum(slot["max_exp_avg_sq"], second)
        # torch's order of operations: divide sqrt(v) by sqrt(1 - b2^t), scale m by lr/(1 - b1^t).
        denom = xp.sqrt(second) / math.sqrt(1.0 - b2**t) + self.eps
        return (lr / (1.0 - b1**t)) * new["exp_avg"] / denom, new

    def _rule(self, p: Any, g: Any, slot: Mapping[str, Any], lr: float, t: int,
              owned: bool = False) -> tuple[Any, dict[str, Any]]:  # fmt: skip
        return self._adam_step(g, slot, lr, t, owned)


class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay.

    Loshchilov & Hutter [2]_, Algorithm 2 (with their schedule multiplier
    folded into :math:`\eta_t`, as torch.optim.AdamW does), in Ruder's notation:

    .. math::
        \theta_t = \theta_{t-1} - \eta_t\left(\frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}
                   + \lambda\, \theta_{t-1}\right),

    with :math:`m_t, v_t, \hat m_t, \hat v_t` as in :class:`Adam`, computed from
    the raw gradient: the decay :math:`\lambda` (`weight_decay`, default 0.01)
    never enters the moments. With ``gc="gradient"`` the decay term is not
    centralised, so the weights leave the GC hyperplane; with
    ``gc="update"`` the whole bracket is (claim ``gc.confinement.decoupled_decay``).

    Examples
    --------
    >>> import numpy as np
    >>> from gc_theory.optim import AdamW
    >>> params, grads = {"w": np.array([1.0, 2.0])}, {"w": np.array([3.0, -0.5])}
    >>> opt = AdamW(lr=0.1, weight_decay=0.01)  # the decay lr * wd * w is applied beside Adam's step
    >>> params, state = opt.step(params, grads, opt.init(params))
    >>> params["w"].round(6)
    array([0.899, 2.098])

    """

    name = "adamw"
    coupled_decay = False

    def __init__(self, lr: LearningRate = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 gc: str | None = None, gc_conv_only: bool = False):  # fmt: skip
        super().__init__(lr, betas, eps, weight_decay, amsgrad, gc=gc, gc_conv_only=gc_conv_only)

    def _rule(self, p: Any, g: Any, slot: Mapping[str, Any], lr: float, t: int,
              owned: bool = False) -> tuple[Any, dict[str, Any]]:  # fmt: skip
        update, new = self._adam_step(g, slot, lr, t, owned)
        if self.weight_decay:
            update = update + (lr * self.weight_decay) * p
        return update, new


