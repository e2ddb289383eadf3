r"""Hyperplane confinement: which optimisers, GC placements and decays keep e^T(w_t - w_0) = 0.

The measuring functions are public so that the property-based tests run the
very same measurement on drawn inputs. Losses are small and written inline:
a tanh regression on mini-batches (nonlinear, stochastic), least squares and
L2-regularised logistic regression; weights have fully connected ``(out, in)``
and convolution ``(out, in, kh, kw)`` shapes.

Rounding bound for hyperplane confinement
-----------------------------------------
Write :math:`\sigma(x) = \mathbf 1^\top x` for the coordinate sum of one weight
vector of length M (so :math:`e^\top x = \sigma(x)/\sqrt M`) and let
:math:`\|\cdot\|_1` be taken per weight vector. Every floating-point operation
has relative error at most u (Higham's model; :mod:`gc_theory.tolerances`). Then:

* GC: :math:`\hat x = \mathrm{fl}(P y)` has :math:`|\sigma(\hat x)| \le c_P \|y\|_1`,
  :math:`c_P = \gamma_{M+4}` (the sum and the scaling by 1/M cost
  :math:`\gamma_{M+1}`, the subtraction at most 3u more), and
  :math:`\|\hat x\|_1 \le 2(1 + c_P)\|y\|_1`;
* a linear combination :math:`\mathrm{fl}(a x + b z)` adds at most
  :math:`\gamma_2(|a|\|x\|_1 + |b|\|z\|_1)` to :math:`\sigma` (:math:`\gamma_3`
  for three terms);
* the step :math:`\hat w_t = \mathrm{fl}(\hat w_{t-1} - \hat u_t)` adds at most
  :math:`\gamma_1 \|\hat w_t\|_1`.

For the SGD family every form reads :math:`b_t = a\, b_{t-1} + c\, \hat g_t`,
:math:`u_t = d\, \hat g_t + f\, b_t` (:func:`sgd_coefficients`), so with
:math:`G_t = \|y_t\|_1` the raw (decayed) gradient and :math:`B_t = \|\hat b_t\|_1`
the drift of the buffer's sum and of the weights' sum obey

.. math::

    e_t &\le a\, e_{t-1} + |c|\, c_P G_t + \gamma_2 (a B_{t-1} + 2|c|(1+c_P) G_t),\\
    r_t &\le r_{t-1} + |d|\, c_P G_t + |f|\, e_t + \gamma_3 (2|d|(1+c_P) G_t + |f| B_t) + \gamma_1 \|\hat w_t\|_1,

and :math:`|e^\top(\hat w_t - \hat w_0)| \le (r_t + \gamma_{M+1}\|\hat w_t - \hat w_0\|_1)/\sqrt M`,
the last term for measuring it. The bound grows linearly in t, by about
:math:`u\|w\|_1/\sqrt M` per step. With ``gc="update"`` the applied step is
:math:`\mathrm{fl}(P y_t)` for the raw update :math:`y_t`, so
:math:`r_t \le r_{t-1} + c_P \|y_t\|_1 + \gamma_1 \|\hat w_t\|_1`; :math:`\|y_t\|_1`
is recovered from the same step taken without GC (:func:`confinement_measurement`).

Source: H. Yong et al., "Gradient Centralization", ECCV 2020 [arXiv:2004.01461],
Sec. 3.3 (hyperplane confinement, Eq. 6-7) and the reference code's GC/GC2
placements; S. Ruder, arXiv:1609.04747 (the optimisers' forms).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ... import optim
from ...backend import array_namespace
from ...centralization import centralize
from ...optim import Optimizer
from ...tolerances import gamma, unit_roundoff
from ...problems.regression import GradFn, init_params, tanh_regression
from .. import Context, Measurement, claim

#: The statements are about GC (ids gc.*), measured with the optimisers.
AREA = "gc"

GC_SOURCE = "Yong et al., Gradient Centralization, ECCV 2020"
RUDER = "Ruder, An overview of gradient descent optimization algorithms, arXiv:1609.04747"
#: Weight shapes of the confinement claims: fully connected and convolution.
CONFINEMENT_SHAPES = {"fc.weight": (4, 6), "conv.weight": (3, 2, 3, 3), "fc.bias": (4,)}
STEPS = 30


# --- hyperplane confinement --------------------------------------------------------


def _rows(x: Any) -> Any:
    xp = array_namespace(x)
    return xp.reshape(x, (x.shape[0], -1))


def _row_l1(x: Any) -> Any:
    xp = array_namespace(x)
    return xp.sum(xp.abs(_rows(x)), axis=1)


def sgd_coefficients(opt: optim.SGD, lr: float) -> tuple[float, float, float, float]:
    r"""(a, c, d, f) with :math:`b_t = a b_{t-1} + c \hat g_t` and :math:`u_t = d \hat g_t + f b_t` for this form."""
    mu = opt.momentum
    if mu == 0:
        return 0.0, 0.0, lr, 0.0
    torch_nesterov = opt.nesterov and opt.nesterov_form == "torch"
    if opt.momentum_form == "velocity":
        return mu, lr, (lr if torch_nesterov else 0.0), (mu if torch_nesterov else 1.0)
    if opt.momentum_form == "ewma":
        return mu, 1.0 - mu, 0.0, lr
    return mu, 1.0 - opt.dampening, (lr if torch_nesterov else 0.0), (lr * mu if torch_nesterov else lr)


def confinement_measurement(opt: Optimizer, params: dict[str, Any], grad_fn: GradFn, steps: int = STEPS,
                            bound: str = "sgd") -> Measurement:  # fmt: skip
    r"""Worst :math:`|e^\top(w_t - w_0)|` over steps and weight vectors, against the running bound.

    Parameters
    ----------
    opt : Optimizer
        The optimiser run (with or without GC).
    params, grad_fn, steps
        Start, gradient oracle ``grad_fn(point, t)`` and number of steps.
    bound : {"sgd", "update"}
        Which rounding bound of the module docstring is accumulated: the SGD
        family's recursion (GC on the gradient) or the GC-on-the-update one.
        A control is measured against the bound of the claim it controls.
    """
    traj = optim.record_trajectory(opt, params, grad_fn, steps)
    dtype = next(iter(params.values())).dtype
    u, g1, g2, g3 = unit_roundoff(dtype), gamma(1, dtype), gamma(2, dtype), gamma(3, dtype)
    raw = opt.replace(gc=None)
    worst = []
    for name, w0 in params.items():
        if not opt.centralizes(tuple(w0.shape)) and opt.gc is not None:
            continue
        if w0.ndim < 2:
            continue
        xp = array_namespace(w0)
        M = math.prod(w0.shape[1:])
        cP = gamma(M + 4, dtype)
        e = r = xp.zeros((w0.shape[0],), dtype=dtype)
        B_prev = e
        for t in range(traj.steps):
            w_prev, w_t, g = traj.params[t][name], traj.params[t + 1][name], traj.grads[t][name]
            if bound == "update":
                shadow, _ = raw.step(traj.params[t], traj.grads[t], traj.states[t])
                y_l1 = (_row_l1(w_prev - shadow[name]) + u * _row_l1(shadow[name])) / (1 - u)
                r = r + cP * y_l1 + g1 * _row_l1(w_t)
            else:
                a, c, d, f = (abs(v) for v in sgd_coefficients(opt, opt.lr_at(t)))
                y = g + opt.weight_decay * w_prev if (opt.coupled_decay and opt.weight_decay) else g
                G = _row_l1(y)
                buffer = traj.states[t + 1].momentum_buffer
                B = _row_l1(buffer[name]) if name in buffer else 0.0 * G
                e = a * e + c * cP * G + g2 * (a * B_prev + 2 * c * (1 + cP) * G)
                r = r + d * cP * G + f * e + g3 * (2 * d * (1 + cP) * G + f * B) + g1 * _row_l1(w_t)
                B_prev = B
            drift = w_t - w0
            residual = xp.abs(xp.sum(_rows(drift), axis=1)) / math.sqrt(M)
            tol = (r + gamma(M + 1, dtype) * _row_l1(drift)) / math.sqrt(M)
            ratio = residual / tol
            i = int(xp.argmax(ratio))
            worst.append(Measurement(float(residual[i]), float(tol[i]), float(_row_l1(w_t)[i]) / math.sqrt(M),
                                     f"{opt.name} {name} step {t + 1} unit {i}"))  # fmt: skip
    return Measurement.worst(worst)


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
        statement="Adam, RMSprop, AdaGrad and Adadelta stay on the plane with gc='update' and leave it with "
        "gc='gradient' (element-wise scaling P g / (sqrt(v) + eps) has a nonzero mean)",
        source=f"{GC_SOURCE}, reference code Adam_GC2 (GC on the update, recommended for adaptive methods); {RUDER}, Sec. 4.3-4.6",
        control="the same optimisers with gc='gradient' (the GC paper's placement): every one of them drifts off the plane",
        optimisers=lambda: [optim.Adam(0.05, gc="update"), optim.RMSprop(0.01, momentum=0.5, gc="update"),
                            optim.AdaGrad(0.1, gc="update"), optim.Adadelta(1.0, gc="update")],  # fmt: skip
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


def layer_centralize(g: Any) -> Any:
    """A wrong GC: subtract the mean of the whole tensor instead of each weight vector's."""
    xp = array_namespace(g)
    return g - xp.mean(g)


def norm_gap_measurement(grads: Iterable[Mapping[str, Any]], operator: Callable[[Any], Any] | None = None) -> Measurement:
    r"""Worst :math:`|\,\|g\|^2 - \|Pg\|^2 - M\bar g^2|` per weight vector over a sequence of gradients.

    The residual also includes :math:`\max(0, \|Pg\|^2 - \|g\|^2)`, so a
    lengthened gradient fails the check even where the identity is not tested.

    Notes
    -----
    With :math:`S = \|g\|_2^2` per weight vector, computing :math:`\|g\|^2`
    costs :math:`\gamma_M S`; :math:`\widehat{Pg}` differs from :math:`Pg` by at most
    :math:`(u + \gamma_M)\|g\|` in 2-norm, so :math:`\|\widehat{Pg}\|^2` is off by at most
    :math:`\gamma_M S + 2(u + \gamma_M) S + O(u^2)`; the mean is off by
    :math:`\gamma_M\|g\|_1/M \le \gamma_M\|g\|/\sqrt M`, which moves :math:`M\bar g^2` by at
    most :math:`2\gamma_M S + \gamma_2 S` (squaring and scaling); the two subtractions
    cost :math:`2u \cdot 2S`. In all, with second-order terms absorbed by the
    factor :math:`(1 + \gamma_M)`:

    .. math:: \text{tol} = (6\gamma_M + \gamma_2 + 6u)(1 + \gamma_M)\, S .
    """
    operator = centralize if operator is None else operator
    worst = []
    for t, g_all in enumerate(grads):
        for name, g in g_all.items():
            if g.ndim < 2:
                continue
            xp = array_namespace(g)
            M = math.prod(g.shape[1:])
            u, gM = unit_roundoff(g.dtype), gamma(M, g.dtype)
            rows, prow = _rows(g), _rows(operator(g))
            S = xp.sum(rows * rows, axis=1)
            SP = xp.sum(prow * prow, axis=1)
            mean = xp.mean(rows, axis=1)
            residual = xp.maximum(xp.abs(S - SP - M * mean * mean), xp.maximum(SP - S, 0.0 * S))
            tol = (6 * gM + gamma(2, g.dtype) + 6 * u) * (1 + gM) * S
            i = int(xp.argmax(residual / tol))
            worst.append(Measurement(float(residual[i]), float(tol[i]), float(S[i]), f"{name} step {t} unit {i}"))
    return Measurement.worst(worst)


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
