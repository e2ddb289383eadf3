r"""Nadam: Adam with Nesterov momentum, in torch.optim.NAdam's form with its momentum-decay schedule.

Dozat [1]_ replaces Adam's first moment by a Nesterov look-ahead: the step
mixes the current gradient with the *next* step's momentum coefficient.
torch.optim.NAdam (implemented here) lets the coefficient warm up,

.. math::

    \mu_t = \beta_1\bigl(1 - \tfrac12\, 0.96^{\,t\psi}\bigr), \qquad
    \Pi_t = \prod_{s=1}^{t}\mu_s ,

with ``momentum_decay`` :math:`\psi` (4e-3), and with Adam's moments
:math:`m_t, v_t` and :math:`\hat v_t = v_t/(1-\beta_2^t)` applies

.. math::

    \theta_t = \theta_{t-1}
      - \eta\,\frac{1-\mu_t}{1-\Pi_t}\,\frac{g_t}{\sqrt{\hat v_t}+\epsilon}
      - \eta\,\frac{\mu_{t+1}}{1-\Pi_t\,\mu_{t+1}}\,\frac{m_t}{\sqrt{\hat v_t}+\epsilon} .

With :math:`\psi \to \infty` (:math:`\mu_t = \beta_1`) this is Dozat's Nadam
with a constant momentum. GC options as for every optimiser
(:mod:`gc_theory.optim._base`): with ``gc="update"`` the weights stay on the
GC hyperplane (claim ``gc.confinement.adaptive_update``).

References
----------
.. [1] T. Dozat, "Incorporating Nesterov Momentum into Adam", ICLR 2016 workshop, Algorithm 2.
.. [2] torch.optim.NAdam (the momentum-decay schedule and the placement of eps).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gc_theory.core.backend import array_namespace
from gc_theory.core.validation import check_nonnegative
from ._base import LearningRate, Optimizer, check_eps
from .adaptive import AdamState, _check_betas

__all__ = ["NAdam", "nadam_mu"]


def nadam_mu(beta1: float, t: int, momentum_decay: float) -> float:
    r""":math:`\mu_t = \beta_1 (1 - \frac12 0.96^{t\psi})`, NAdam's momentum coefficient at step `t` >= 1.

    Examples
    --------
    >>> round(nadam_mu(0.9, 1, 4e-3), 6)       # it starts near beta1 / 2 and tends to beta1
    0.450073
    """
    return beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))


class NAdam(Optimizer):
    r"""NAdam: Adam whose step uses the Nesterov look-ahead of the first moment (module docstring).

    Parameters
    ----------
    lr : float or callable
        :math:`\eta` (default 2e-3, torch's), or a schedule.
    betas : (float, float)
        :math:`(\beta_1, \beta_2)`.
    eps : float
        Added to :math:`\sqrt{\hat v_t}`.
    weight_decay : float
        Coupled L2 decay, added to the gradient.
    momentum_decay : float
        :math:`\psi \ge 0` of the warm-up :math:`\mu_t`.
    gc, gc_conv_only
        GC placement (:mod:`gc_theory.optim._base`).

    Notes
    -----
    The state is :class:`AdamState` (``max_exp_avg_sq`` unused): the product
    :math:`\Pi_t` is a function of t alone, recomputed in float64 in the order
    torch accumulates it.

    Examples
    --------
    >>> import numpy as np
    >>> from gc_theory.optim import NAdam
    >>> params, grads = {"w": np.array([1.0, 2.0])}, {"w": np.array([3.0, -0.5])}
    >>> opt = NAdam(lr=0.1)
    >>> params, state = opt.step(params, grads, opt.init(params))
    >>> params["w"].round(6)   # lr sign(g) (1 + (1-beta1) mu_2/(1 - mu_1 mu_2)): larger than Adam's lr sign(g)
    array([0.894355, 2.105645])
    """

    name = "nadam"
    State = AdamState

    def __init__(self, lr: LearningRate = 2e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum_decay: float = 4e-3, *,
                 gc: str | None = None, gc_conv_only: bool = False):  # fmt: skip
        super().__init__(lr=lr, weight_decay=weight_decay, gc=gc, gc_conv_only=gc_conv_only)
        self.betas = _check_betas(betas)
        self.eps = check_eps(eps)
        self.momentum_decay = check_nonnegative(momentum_decay, "momentum_decay")

    def _init_slot(self, p: Any) -> dict[str, Any]:
        xp = array_namespace(p)
        return {"exp_avg": xp.zeros_like(p), "exp_avg_sq": xp.zeros_like(p)}

    def _rule(self, p: Any, g: Any, slot: Mapping[str, Any], lr: float, t: int,
              owned: bool = False) -> tuple[Any, dict[str, Any]]:  # fmt: skip
        xp = array_namespace(g)
        b1, b2 = self.betas
        product = 1.0
        for s in range(1, t + 1):  # torch's running product, in its order
            product *= nadam_mu(b1, s, self.momentum_decay)
        mu, mu_next = nadam_mu(b1, t, self.momentum_decay), nadam_mu(b1, t + 1, self.momentum_decay)
        exp_avg = b1 * slot["exp_avg"] + (1.0 - b1) * g
        exp_avg_sq = b2 * slot["exp_avg_sq"] + (1.0 - b2) * (g * g)
        denom = xp.sqrt(exp_avg_sq / (1.0 - b2**t)) + self.eps
        update = (lr * (1.0 - mu) / (1.0 - product)) * g / denom
        update = update + (lr * mu_next / (1.0 - product * mu_next)) * exp_avg / denom
        return update, {"exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}
