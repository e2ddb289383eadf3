r"""Claims about the models of :mod:`gc_theory.models`: their gradients are right.

``models.grad.central_difference``: for every case of
:func:`gc_theory.cases.gradient_cases` (every registered layer, loss and model) and every
differentiable array of it, the analytic directional derivative
:math:`\langle \nabla f, v\rangle` along a random direction v agrees with a
Richardson-extrapolated central difference, within the error model of the
difference quotient. The control runs the same measurement on
:func:`gc_theory.models.planted_bugs`; every planted bug must be caught.

The measuring function :func:`directional_check` is public, so the tests run
the same measurement on shapes drawn by hypothesis.

References
----------
.. [1] N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM, 2002, Ch. 3.
.. [2] J. Nocedal, S. J. Wright, *Numerical Optimization*, 2nd ed., Springer, 2006, Sec. 8.1
   (central differences: truncation :math:`O(h^2)`, rounding :math:`O(\epsilon/h)`);
   Richardson extrapolation removes the :math:`h^2` term.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import optim
from ..backend import array_namespace
from ..cases import gradient_cases
from ..centralization import centralize
from ..models import mlp
from ..models.catalogue import GradCase, planted_bugs
from ..tolerances import gamma, unit_roundoff
from ..training import full_batch_trajectory
from ..problems.invariance import shift_response
from . import Context, Measurement, claim

#: Directions tried before giving up when every stencil crosses a ReLU kink.
MAX_DIRECTIONS = 8


def _step(x: Any) -> float:
    r"""h = a power of two near :math:`u^{1/5}\max(1, \|x\|_\infty)`, so that s*h*v is exact for s in {1, 2, 4}."""
    xp = array_namespace(x)
    size = max(1.0, float(xp.max(xp.abs(x)))) if math.prod(x.shape) else 1.0
    return 2.0 ** math.floor(math.log2(unit_roundoff(x.dtype) ** (1.0 / 5.0) * size))


def _direction(rng: np.random.Generator, x: Any) -> Any:
    """A random direction with max-norm 1 (so each entry moves by at most h)."""
    xp = array_namespace(x)
    v = rng.standard_normal(tuple(x.shape))
    v /= max(np.max(np.abs(v)), 1e-300) if v.size else 1.0
    return xp.asarray(v, dtype=x.dtype)


def directional_check(case: GradCase, key: str, rng: np.random.Generator, direction: np.ndarray | None = None) -> Measurement:
    r"""Compare :math:`\langle \nabla_{key} f, v\rangle` with a central difference along a random v.

    Parameters
    ----------
    case : GradCase
        From :func:`gc_theory.models.catalogue` (or :func:`~gc_theory.models.planted_bugs`).
    key : str
        Which array of ``case.point`` to perturb.
    rng : numpy.random.Generator
        Draws the direction.
    direction : numpy.ndarray, optional
        A fixed host direction of ``case.point[key]``'s shape with max-norm 1
        (a unit basis vector checks one entry); drawn from `rng` when omitted.

    Returns
    -------
    Measurement
        residual :math:`|D_R - \langle g, v\rangle|` against the tolerance below;
        scale :math:`|\langle g, v \rangle|`.

    Raises
    ------
    RuntimeError
        If every one of :data:`MAX_DIRECTIONS` stencils crosses a ReLU kink.

    Notes
    -----
    With :math:`\varphi(s) = f(x + s v)`, :math:`\|v\|_\infty = 1`, and
    :math:`D(h) = (\varphi(h) - \varphi(-h))/(2h) = \varphi'(0) + h^2\varphi^{(3)}/6 + h^4\varphi^{(5)}/120 + O(h^6)`,
    the Richardson value :math:`R(h) = (4D(h) - D(2h))/3 = \varphi'(0) - h^4\varphi^{(5)}/30 + O(h^6)`
    is compared with the analytic :math:`\langle g, v\rangle`. The tolerance adds

    * truncation: :math:`R(2h) - R(h) = -15 h^4\varphi^{(5)}/30 + O(h^6)`, so
      :math:`|R(2h) - R(h)|/15` estimates R(h)'s error; the tolerance takes
      :math:`|R(2h) - R(h)|`, which leaves room for an :math:`O(h^6)`
      remainder up to 14 times the leading term;
    * rounding of f: if :math:`|\mathrm{fl}(\varphi(s)) - \varphi(s)| \le \delta`
      on the stencil (``case.rounding_bound`` on the neighbourhood
      :math:`|x| + 4h|v|`), R(h) carries at most
      :math:`\tfrac43\,\delta/h + \tfrac13\,\delta/(2h) = 1.5\,\delta/h`;
    * rounding of the stencil points :math:`x + s h v` (h is a power of two, so
      only the sum rounds, by :math:`u|x + shv|`): to first order at most
      :math:`1.5\,u\sum_i |g_i|(|x_i| + 2h|v_i|)/h`;
    * the analytic side: :math:`\gamma_N \sum_i |g_i v_i|`, N the number of
      entries of the case (longer than any inner product in it), and
      :math:`2u|R(h)|` for the last subtraction and scaling.

    The step :math:`h \approx u^{1/5}\max(1, \|x\|_\infty)` balances the
    :math:`h^4` and :math:`u/h` terms of R. Where the case has ReLU kinks, the
    kink pattern must be the same at all six stencil points and at x,
    otherwise another direction is drawn and h is divided by 4 (the
    tolerance is computed for the h actually used).
    """
    point = case.point
    x = point[key]
    xp = array_namespace(x)
    u = unit_roundoff(x.dtype)
    h = _step(x)
    _, grads = case.value_and_grad(point)
    g = grads[key]
    base = case.kinks(point)
    for _attempt in range(MAX_DIRECTIONS):
        v = _direction(rng, x) if direction is None else xp.asarray(np.asarray(direction), dtype=x.dtype)
        stencil = {s: {**point, key: x + (s * h) * v} for s in (-4, -2, -1, 1, 2, 4)}
        if all(bool(xp.all(case.kinks(p) == base)) for p in stencil.values()):
            break
        h /= 4  # a shorter stencil crosses fewer kinks; the tolerance below follows h
    else:
        raise RuntimeError(f"{case.name}[{key}]: {MAX_DIRECTIONS} stencils, down to step {4 * h:g}, all crossed a ReLU kink")
    f = {s: float(case.value(p)) for s, p in stencil.items()}
    d1, d2, d4 = ((f[s] - f[-s]) / (2 * s * h) for s in (1, 2, 4))
    richardson = (4 * d1 - d2) / 3
    coarser = (4 * d2 - d4) / 3
    analytic = float(xp.sum(g * v))
    residual = abs(richardson - analytic)

    abs_v = xp.abs(v)
    delta = case.rounding_bound(point, {key: 4 * h * abs_v})
    n_entries = sum(math.prod(a.shape) for a in point.values())
    truncation = abs(coarser - richardson)
    rounding_f = 1.5 * delta / h
    rounding_points = 1.5 * u * float(xp.sum(xp.abs(g) * (xp.abs(x) + 2 * h * abs_v))) / h
    analytic_side = gamma(n_entries, x.dtype) * float(xp.sum(xp.abs(g * v))) + 2 * u * abs(richardson)
    tolerance = truncation + rounding_f + rounding_points + analytic_side
    return Measurement(residual, tolerance, max(abs(analytic), 1e-300), f"{case.name}[{key}] h=2^{int(math.log2(h))}")


def case_check(case: GradCase, rng: np.random.Generator) -> Measurement:
    """The worst :func:`directional_check` over every array of the case."""
    return Measurement.worst(directional_check(case, key, rng) for key in case.point)


def catalogue_check(cases: list[GradCase], rng: np.random.Generator) -> Measurement:
    """Worst case of the catalogue: the gradients hold only if every case passes."""
    return Measurement.worst(case_check(c, rng) for c in cases)


def bugs_caught(cases: list[GradCase], rng: np.random.Generator) -> Measurement:
    """The least-caught planted bug: it fails the control margin only if every bug is caught by that margin."""
    return min((case_check(c, rng) for c in cases), key=lambda m: m.ratio)


@claim(
    "models.grad.central_difference",
    statement="for every layer, loss and model registered in gc_theory.cases and each of its arrays, "
    "<grad f, v> = Richardson-extrapolated central difference along a random v, within |R(2h) - R(h)| + 1.5 delta/h",
    source="central differences: Nocedal & Wright, Numerical Optimization, Sec. 8.1; rounding: Higham, Ch. 3",
    control="the same check on models.planted_bugs() (flipped conv kernel, tanh' = 1 - y, "
    "bias gradient / n, cross-entropy gradient without 1/n, col2im off by one row): each must fail",
)
def _central_difference(ctx: Context, control: bool) -> Measurement:
    seed = int(ctx.rng.integers(2**31))
    if control:
        return bugs_caught(planted_bugs(ctx.xp, ctx.dtype, seed), ctx.rng)
    return catalogue_check(gradient_cases(ctx.xp, ctx.dtype, seed), ctx.rng)


# --- claim 3: output-feature invariance under GC-SGD(M) ---------------------------------

#: Optimisers of the invariance claim: GC-SGD, GC-momentum (heavy ball) and GC-Nesterov (torch's form).
INVARIANCE_OPTIMIZERS = {
    "SGD": {"momentum": 0.0},
    "momentum": {"momentum": 0.9},
    "Nesterov": {"momentum": 0.9, "nesterov": True},
}
INVARIANCE_STEPS = 25
INVARIANCE_LR = 0.1
#: Input shifts gamma of the probes.
SHIFTS = (0.5, -3.0)


def invariance_trajectory(ctx: Context, opt_name: str, gc: str | None, *, zero_mean_init: bool = False) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Full-batch training of a 6-5-3 tanh MLP on random data; iterates and gradients (see :func:`training.trajectory`)."""
    net = mlp([6, 5, 3], activation="tanh")
    params = net.init(ctx.rng, ctx.xp, ctx.dtype)
    if zero_mean_init:
        params = {k: centralize(v) if v.ndim > 1 else v for k, v in params.items()}
    x = ctx.normal(8, 6)
    labels = ctx.xp.asarray(ctx.rng.integers(0, 3, size=8))
    opt = optim.SGD(lr=INVARIANCE_LR, gc=gc, **INVARIANCE_OPTIMIZERS[opt_name])
    return full_batch_trajectory(opt, params, net, (x, labels), INVARIANCE_STEPS)


def invariance_measurement(
    iterates: list[dict[str, Any]], gradients: list[dict[str, Any]], key: str, probes: Any, shift: float,
    *, lr: float, momentum: float, reference: str = "initial",
) -> Measurement:
    r"""max over t of :math:`|W_t(x + \gamma\mathbf 1) - W_t x - \gamma W_0\mathbf 1|`, each against its rounding bound.

    Parameters
    ----------
    iterates, gradients : list of dict
        From :func:`gc_theory.training.trajectory`.
    key : str
        The weight (out, in) to look at.
    probes : array (n, in)
        Inputs x.
    shift : float
        :math:`\gamma`.
    lr, momentum : float
        The optimiser's (for the rounding bound).
    reference : {"initial", "zero"}
        Compare with :math:`\gamma W_0 \mathbf 1`, or with 0 (zero-mean initialisation).

    Notes
    -----
    GC makes every row of every update sum to zero, so :math:`W_t\mathbf 1 = W_0\mathbf 1`
    and :math:`W_t(x+\gamma\mathbf 1) - W_t x = \gamma W_t\mathbf 1 = \gamma W_0\mathbf 1`.
    In floating point the row sums :math:`S_t = W_t\mathbf 1` drift by rounding
    only; a running bound with the observed magnitudes is

    .. math::

        |S_{t} - S_0| \le D_t = \sum_{s < t} \Bigl(u \sum_j |W_{s+1}|_{ij}
            + \eta\,\gamma_{M+4} \sum_j (|g_s| + \mu a_s)_{ij}\Bigr),
        \qquad a_s = \mu a_{s-1} + |g_s|,

    (the rounding of the weight update, and of the centred gradient's row sum,
    :math:`\le \gamma_{M+2}\sum_j|g_{ij}|`, carried through the momentum buffer
    and the Nesterov combination with the buffer's own roundings). The two
    products :math:`W(x+\gamma\mathbf 1)` and :math:`Wx`, the shift and the
    subtraction add :math:`\gamma_{M+1}(|x+\gamma| + |x|)|W_t|^\top + u|\Delta|`,
    and the reference :math:`\gamma W_0\mathbf 1` (or the row sums of a
    centred initialisation) :math:`\gamma_{M+2}|\gamma|\sum_j|W_0|_{ij}`, so the
    bound grows linearly with t.
    """
    xp = array_namespace(probes)
    w0 = iterates[0][key]
    M = w0.shape[1]
    dtype = w0.dtype
    u = unit_roundoff(dtype)
    expected = shift * xp.sum(w0, axis=1) if reference == "initial" else xp.zeros(w0.shape[0], dtype=dtype)
    ref_bound = gamma(M + 2, dtype) * abs(shift) * xp.sum(xp.abs(w0), axis=1)
    drift = xp.zeros(w0.shape[0], dtype=dtype)
    buffer = xp.zeros_like(w0)
    worst: list[Measurement] = []
    for t, params in enumerate(iterates):
        w = params[key]
        if t > 0:
            g_abs = xp.abs(gradients[t - 1][key])
            direction = g_abs + momentum * buffer
            buffer = momentum * buffer + g_abs
            drift = drift + u * xp.sum(xp.abs(w), axis=1) + lr * gamma(M + 4, dtype) * xp.sum(direction + momentum * buffer, axis=1)
        response = shift_response(w, probes, shift)
        error = xp.abs(response - expected)
        products = gamma(M + 1, dtype) * ((xp.abs(probes + shift) + xp.abs(probes)) @ xp.abs(w).T)
        bound = abs(shift) * drift + products + u * xp.abs(response) + ref_bound
        ratio = error / bound
        flat = int(xp.argmax(xp.reshape(ratio, (-1,))))
        i, j = divmod(flat, error.shape[1])
        worst.append(Measurement(float(error[i, j]), float(bound[i, j]), max(abs(shift) * float(xp.max(xp.abs(w0))), 1e-300), f"{key} t={t} shift={shift}"))
    return Measurement.worst(worst)


@claim(
    "gc.output_invariance.shift",
    statement="every weight W (out, in) trained with GC-SGD, GC-momentum or GC-Nesterov satisfies "
    "W_t(x + gamma*1) - W_t x = gamma*W_0 1 at every t (= 0 with a zero-mean initialisation)",
    source="Yong et al., Gradient Centralization, ECCV 2020, Sec. 3.3 (output feature space regularisation)",
    control="the same training without GC (plain SGD, momentum, Nesterov): the response to the shift changes",
)
def _output_invariance(ctx: Context, control: bool) -> Measurement:
    gc = None if control else "gradient"
    cases = []
    for name, settings in INVARIANCE_OPTIMIZERS.items():
        for zero_mean in (False, True):
            iterates, gradients = invariance_trajectory(ctx, name, gc, zero_mean_init=zero_mean)
            for key in ("0.weight", "2.weight"):
                probes = ctx.normal(4, iterates[0][key].shape[1])
                for shift in SHIFTS:
                    m = invariance_measurement(iterates, gradients, key, probes, shift, lr=INVARIANCE_LR,
                                               momentum=settings["momentum"], reference="zero" if zero_mean else "initial")  # fmt: skip
                    cases.append(Measurement(m.residual, m.tolerance, m.scale, f"{name}{' zero-mean' if zero_mean else ''}: {m.detail}"))
    # the claim holds only if every case holds; the control fails only if every case breaks the identity
    return min(cases, key=lambda m: m.ratio) if control else Measurement.worst(cases)
