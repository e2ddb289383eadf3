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

from gc_theory.optim.constant_gradient import adagrad_constant_measurement, rmsprop_constant_measurement
from gc_theory.optim.ewma_structure import corrected_sequence_measurement, weights_measurement
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


# --- the EWMA's structure ------------------------------------------------------------

EWMA_BETAS = (0.5, 0.9, 0.99)


@claim(
    "optim.ewma.weights",
    statement="the EWMA v_t = beta v_{t-1} + (1 - beta) x_t answers an impulse with (1 - beta) beta^k at lag k, "
    "and its last n = 1/(1 - beta) inputs carry the weight 1 - beta^n (0.6513 at beta = 0.9; 1 - 1/e as beta -> 1)",
    source=f"{RUDER}, Sec. 4.4-4.6; Kingma & Ba, Adam, ICLR 2015, Sec. 3",
    control="bias correction applied in place (the corrected value fed back into the recursion)",
)
def _ewma_weights(ctx: Context, control: bool) -> list[Measurement]:
    return [m for b in EWMA_BETAS for m in weights_measurement(_constant(ctx.spawn(f"beta={b}")), b, in_place=control)]


@claim(
    "optim.ewma.corrected_sequence",
    statement="on a non-constant sequence the bias-corrected EWMA v_t/(1 - beta^t) is the weighted mean "
    "sum_k beta^(t-k) x_k / sum_k beta^(t-k), the newest input weighted most",
    source="Kingma & Ba, Adam, ICLR 2015, Sec. 3 (initialization bias correction)",
    control="the correction applied in place (1, 5.26, 17.8, ... on x_t = 1 at beta = 0.9), and the weights "
    "in reverse order (which a constant sequence cannot catch)",
)
def _ewma_sequence(ctx: Context, control: bool) -> list[Measurement]:
    out = []
    for b in (0.5, 0.9):
        case = ctx.spawn(f"beta={b}")
        xs = [case.normal(6) for _ in range(30)]
        for variant in ("in_place", "reversed") if control else ("correct",):
            out.append(corrected_sequence_measurement(xs, b, variant=variant))
    return out


# --- AdaGrad and RMSprop on a constant gradient ----------------------------------------


def _steep_and_flat(ctx: Context) -> Any:
    """A constant gradient with steep (|g| in 2..10) and flat (|g| in 0.05..0.5) coordinates, random signs."""
    rng = ctx.rng
    mags = [*rng.uniform(2.0, 10.0, 3), *rng.uniform(0.05, 0.5, 3)]
    return ctx.asarray([m * s for m, s in zip(mags, rng.choice([-1.0, 1.0], 6))])


@claim(
    "optim.adagrad.constant_gradient",
    statement="on a constant gradient AdaGrad's step is lr g/(sqrt(t)|g| + eps) = lr/sqrt(t) sign(g) + O(eps): "
    "the same on every coordinate, so 1/(sqrt(t)|g|) of GD's on a steeper one, and shrinking like 1/sqrt(t) (it stalls)",
    source=f"Duchi, Hazan & Singer, JMLR 2011; {RUDER}, Sec. 4.3; torch.optim.Adagrad",
    control="the formula without the square root, lr g/(t g^2 + eps)",
)
def _adagrad_constant(ctx: Context, control: bool) -> Measurement:
    return adagrad_constant_measurement(_steep_and_flat(ctx.spawn("g")), root=not control)


@claim(
    "optim.rmsprop.constant_gradient",
    statement="on a constant gradient torch's RMSprop (v_0 = 0) has v_t = (1 - alpha^t) g^2 and the step "
    "lr g/(sqrt(1 - alpha^t)|g| + eps), which falls to the constant lr sign(g) (from 10 lr at t = 1 for alpha = 0.99)",
    source=f"Tieleman & Hinton, Lecture 6.5, 2012; {RUDER}, Sec. 4.5; torch.optim.RMSprop",
    control="the formula with alpha replaced by 1 - alpha (old average and new gradient swapped)",
)
def _rmsprop_constant(ctx: Context, control: bool) -> list[Measurement]:
    g = _steep_and_flat(ctx.spawn("g"))
    return [rmsprop_constant_measurement(g, a, swapped=control) for a in (0.9, 0.99)]
