r"""Hyperplane confinement: which optimisers, GC placements and decays keep e^T(w_t - w_0) = 0.

Each claim runs its optimisers on a tanh regression on mini-batches
(:func:`gc_theory.problems.regression.tanh_regression`: nonlinear, stochastic),
with fully connected ``(out, in)`` and convolution ``(out, in, kh, kw)``
weights, and holds the drift from the plane to the running rounding bound of
:func:`gc_theory.optim.confinement.confinement_measurement` (derived in that
module's docstring); the norm gap is measured by
:func:`gc_theory.gc.residuals.norm_gap_measurement`.

Source: H. Yong et al., "Gradient Centralization", ECCV 2020 [arXiv:2004.01461],
Sec. 3.3 (hyperplane confinement, Eq. 6-7) and the reference code's GC/GC2
placements; S. Ruder, arXiv:1609.04747 (the optimisers' forms).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from gc_theory import optim
from gc_theory.optim import Optimizer
from gc_theory.optim.confinement import confinement_measurement
from gc_theory.gc.residuals import layer_centralize, norm_gap_measurement
from gc_theory.problems.regression import init_params, tanh_regression
from gc_theory.claims import Context, Measurement, claim
from gc_theory.claims._sources import GC, RUDER

#: The statements are about GC (ids gc.*), measured with the optimisers.
GC_SOURCE = GC
#: Weight shapes of the confinement claims: fully connected and convolution.
CONFINEMENT_SHAPES = {"fc.weight": (4, 6), "conv.weight": (3, 2, 3, 3), "fc.bias": (4,)}
STEPS = 30


@dataclass(frozen=True)
class ConfinementRow:
    """One ``gc.confinement.*`` claim: the optimisers it runs and the change that makes its control.

    `optimisers` builds the claim's optimisers; `control_of` turns one of them
    into its control (the same optimiser without GC, or with the placement or
    the decay that breaks confinement); `bound` names the rounding bound of the
    module docstring that both are held to.
    """

    id: str
    statement: str
    source: str
    control: str
    optimisers: Callable[[], list[Optimizer]]
    control_of: Callable[[Optimizer], Optimizer]
    bound: str


def _without_gc(opt: Optimizer) -> Optimizer:
    return opt.replace(gc=None)


def _gc_on_gradient(opt: Optimizer) -> Optimizer:
    return opt.replace(gc="gradient")


def _decoupled(opt: Optimizer) -> Optimizer:
    return optim.SGDW(**opt.hyperparameters())


SCHEDULE = optim.step_decay(0.3, step_size=10, gamma=0.5)

#: The confinement family: one row per claim, registered in a loop below.
CONFINEMENT = (
    ConfinementRow(
        "gc.confinement.sgd",
        statement="GC-SGD keeps every weight vector on its hyperplane: e^T(w_t - w_0) = 0 at every step, "
        "constant lr or a schedule, FC and conv weights, up to a rounding bound growing linearly in t",
        source=f"{GC_SOURCE}, Sec. 3.3 (Eq. 6: w_t - w_0 stays orthogonal to e)",
        control="plain SGD (gc=None) drifts off the plane",
        optimisers=lambda: [optim.SGD(0.3, gc="gradient"), optim.SGD(optim.tenfold_decay(0.5, 20), gc="gradient")],
        control_of=_without_gc,
        bound="sgd",
    ),
    ConfinementRow(
        "gc.confinement.momentum",
        statement="GC-momentum (torch, velocity and EWMA forms; with a schedule) keeps e^T(w_t - w_0) = 0 "
        "up to the rounding bound: the buffer is a sum of centralised gradients",
        source=f"{GC_SOURCE}, Sec. 3.3 and Algorithm 1 (SGDM with GC); {RUDER}, Sec. 4.1",
        control="momentum without GC drifts off the plane",
        optimisers=lambda: [
            optim.SGD(0.1, momentum=0.9, gc="gradient"),
            optim.SGD(SCHEDULE, momentum=0.8, dampening=0.2, gc="gradient"),
            optim.SGD(0.1, momentum=0.9, momentum_form="velocity", gc="gradient"),
            optim.SGD(0.5, momentum=0.9, momentum_form="ewma", gc="gradient"),
        ],
        control_of=_without_gc,
        bound="sgd",
    ),
    ConfinementRow(
        "gc.confinement.nesterov",
        statement="GC-Nesterov, in the look-ahead form and in torch's form, keeps e^T(w_t - w_0) = 0 up to the rounding bound",
        source=f"{GC_SOURCE}, Sec. 3.3; {RUDER}, Sec. 4.2 (NAG)",
        control="Nesterov without GC drifts off the plane",
        optimisers=lambda: [
            optim.SGD(0.1, momentum=0.9, nesterov=True, gc="gradient"),
            optim.SGD(0.1, momentum=0.9, nesterov=True, nesterov_form="lookahead", gc="gradient"),
            optim.SGD(SCHEDULE, momentum=0.8, nesterov=True, gc="gradient"),
        ],
        control_of=_without_gc,
        bound="sgd",
    ),
    ConfinementRow(
        "gc.confinement.coupled_decay",
        statement="SGD and momentum with coupled L2 decay and gc='gradient' stay on the plane: "
        "the decay enters the gradient before P, so P(g + lambda w) is centralised",
        source=f"{GC_SOURCE}, Algorithm 1 (decay added before GC, reference SGD_GC)",
        control="the same decay applied decoupled (SGDW) with gc='gradient': the uncentralised "
        "lr*lambda*w term moves the weights off the plane",
        optimisers=lambda: [optim.SGD(0.2, weight_decay=0.1, gc="gradient"),
                            optim.SGD(0.1, momentum=0.9, weight_decay=0.1, gc="gradient")],  # fmt: skip
        control_of=_decoupled,
        bound="sgd",
    ),
    ConfinementRow(
        "gc.confinement.decoupled_decay",
        statement="decoupled decay (AdamW, SGDW) stays on the plane only with gc='update', which centralises "
        "the whole step including lr*lambda*w",
        source=f"{GC_SOURCE}, reference code AdamW_GC2 (centralise the final update); Loshchilov & Hutter, ICLR 2019",
        control="AdamW and SGDW with gc='gradient': the decay term is not centralised and the weights leave the plane",
        optimisers=lambda: [optim.AdamW(0.05, weight_decay=0.5, gc="update"),
                            optim.SGDW(0.1, momentum=0.9, weight_decay=0.2, gc="update")],  # fmt: skip
        control_of=_gc_on_gradient,
        bound="update",
    ),
    ConfinementRow(
        "gc.confinement.adaptive_update",
        statement="Adam, NAdam, RMSprop, AdaGrad and Adadelta stay on the plane with gc='update' and leave it with "
        "gc='gradient' (element-wise scaling P g / (sqrt(v) + eps) has a nonzero mean)",
        source=f"{GC_SOURCE}, reference code Adam_GC2 (GC on the update, recommended for adaptive methods); {RUDER}, Sec. 4.3-4.6",
        control="the same optimisers with gc='gradient' (the GC paper's placement): every one of them drifts off the plane",
        optimisers=lambda: [optim.Adam(0.05, gc="update"), optim.RMSprop(0.01, momentum=0.5, gc="update"),
                            optim.AdaGrad(0.1, gc="update"), optim.Adadelta(1.0, gc="update"),
                            optim.NAdam(0.05, gc="update")],  # fmt: skip
        control_of=_gc_on_gradient,
        bound="update",
    ),
)


def _confinement_check(row: ConfinementRow, ctx: Context, control: bool) -> Iterator[Measurement]:
    """One case per optimiser of the row, each on its own draw of the problem (the control on the same draw)."""
    for i, opt in enumerate(row.optimisers()):
        case = ctx.spawn(f"{row.id}[{i}]")
        run = row.control_of(opt) if control else opt
        grad_fn = tanh_regression(case, CONFINEMENT_SHAPES)
        yield confinement_measurement(run, init_params(case, CONFINEMENT_SHAPES), grad_fn, STEPS, row.bound)


def _register(row: ConfinementRow) -> None:
    def check(ctx: Context, control: bool) -> Iterator[Measurement]:
        return _confinement_check(row, ctx, control)

    check.__name__ = check.__qualname__ = f"check_{row.id.rsplit('.', 1)[-1]}"
    claim(row.id, statement=row.statement, source=row.source, control=row.control)(check)


for _row in CONFINEMENT:
    _register(_row)


# --- the norm gap along a trajectory ----------------------------------------------


@claim(
    "gc.norm_gap.trajectory",
    statement="along a GC-momentum training trajectory, every weight vector's gradient obeys "
    "||g||^2 - ||P g||^2 = M mean(g)^2, so ||P g|| <= ||g|| with the gap sqrt(M)|mean(g)|",
    source=f"{GC_SOURCE}, Sec. 3.3 (GC constrains and shortens the gradient)",
    control="centralising over the whole tensor (one mean per layer, not per weight vector): the per-vector gap is wrong",
)
def _norm_gap(ctx: Context, control: bool) -> Measurement:
    case = ctx.spawn("trajectory")
    grad_fn = tanh_regression(case, CONFINEMENT_SHAPES)
    traj = optim.record_trajectory(optim.SGD(0.1, momentum=0.9, gc="gradient"), init_params(case, CONFINEMENT_SHAPES), grad_fn, 20)
    return norm_gap_measurement(traj.grads, layer_centralize if control else None)
