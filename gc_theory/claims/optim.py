r"""Claims that the many forms of one optimiser agree: Nesterov's two forms, momentum's forms, the EWMA's bias correction.

Each runs two forms on the separable quadratic of
:func:`gc_theory.problems.regression.diagonal_quadratic` and holds their
difference to the propagated rounding bound derived in
:mod:`gc_theory.optim.forms`.

References
----------
S. Ruder, "An overview of gradient descent optimization algorithms",
arXiv:1609.04747, Sec. 4.1-4.2 and 4.6; I. Sutskever et al., ICML 2013,
Sec. 3; Y. Bengio et al., ICASSP 2013, Sec. 3.5; D. P. Kingma, J. Ba, ICLR 2015, Sec. 3.
"""

from __future__ import annotations

from typing import Any

from gc_theory.optim.forms import ewma_bias_measurement, momentum_forms, nesterov_forms
from gc_theory.problems.regression import diagonal_quadratic

from . import Context, Measurement, claim
from ._sources import RUDER

SHAPE = (4, 5)


def _start(ctx: Context) -> tuple[Any, dict[str, Any]]:
    """The quadratic, then the start: in this order, so each case's draws stay those of its stream."""
    quadratic = diagonal_quadratic(ctx, SHAPE)
    return quadratic, {"w": ctx.normal(*SHAPE) * 3.0}


def _constant(ctx: Context) -> Any:
    """A constant sequence's value, away from zero so the relative error is defined."""
    return ctx.asarray(ctx.rng.standard_normal((5, 7)) + 0.1)


@claim(
    "optim.nesterov.forms_agree",
    statement="Nesterov's look-ahead form (gradient at theta - gamma v) and torch's form give the same iterates "
    "after the change of variables phi = theta - gamma v, v = lr b",
    source=f"{RUDER}, Sec. 4.2; Sutskever et al., ICML 2013; Bengio et al., ICASSP 2013, Sec. 3.5",
    control="comparing phi_t with theta_t itself (forgetting the change of variables)",
)
def _nesterov(ctx: Context, control: bool) -> Measurement:
    return nesterov_forms(*_start(ctx.spawn("quadratic")), control=control)


@claim(
    "optim.momentum.forms_agree",
    statement="momentum's forms agree: v = gamma v + lr g gives the iterates of m = beta m + (1 - beta) g "
    "with lr/(1 - beta), and of torch's b = gamma b + g with lr outside (constant lr)",
    source=f"{RUDER}, Sec. 4.1; torch.optim.SGD",
    control="the EWMA form without rescaling lr, and the torch form under a step-decay schedule (lr inside vs outside)",
)
def _momentum(ctx: Context, control: bool) -> list[Measurement]:
    return momentum_forms(*_start(ctx.spawn("quadratic")), control=control)


@claim(
    "optim.ewma.unbiased",
    statement="on a constant sequence the bias-corrected EWMA v_t/(1 - beta^t) equals the constant at every t",
    source="Kingma & Ba, Adam, ICLR 2015, Sec. 3 (initialization bias correction)",
    control="the uncorrected average v_t = (1 - beta^t) c, biased towards its zero start",
)
def _ewma(ctx: Context, control: bool) -> list[Measurement]:
    return [ewma_bias_measurement(_constant(ctx.spawn(f"beta={b}")), b, bias_correction=not control) for b in (0.5, 0.9, 0.999)]
