r"""Claims about Weight Normalization :math:`w = g\,v/\|v\|`, weight standardisation and batch norm.

Each check measures every one of its cases against a tolerance derived from a
rounding-error bound (Higham's :math:`\gamma_n`, :mod:`gc_theory.verify.tolerances`)
or from the convergence module's ladder fit; the derivation is in the check's
Notes. M is the length of one unit's weight vector (the fan-in), n a batch size.

Source: T. Salimans and D. P. Kingma, "Weight Normalization: A Simple
Reparameterization to Accelerate Training of Deep Neural Networks", NeurIPS 2016,
arXiv:1602.07868: Sec. 2 (the reparameterisation, eq. 2), Sec. 2.1 (its gradients, eqs. 3-4;
M_w, norm growth and the covariance view), Sec. 2.2 (relation to batch norm), Sec. 3
(data-dependent initialisation), Sec. 4
(mean-only batch normalisation).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from gc_theory.core.backend import array_namespace
from gc_theory.gc.centralization import centralize
from gc_theory.verify.order_fit import geometric_ladder, order_measurement
from gc_theory.models import BatchNorm, Conv2d, Linear, MeanOnlyBatchNorm, ReLU, Sequential, WeightNorm
from gc_theory.models.normalization import data_dependent_init_network
from gc_theory.models.batch_independence import batch_independence_measurements
from gc_theory.optim import Adam, SGD
from gc_theory.gc.projections import (
    annihilation_residual,
    idempotence_residual,
    rank_one_projection,
    reflection_matrix,
    spectrum_residual,
    symmetry_residual,
)
from gc_theory.problems.regression import LayerLeastSquares
from gc_theory.verify.tolerances import gamma, unit_roundoff
from gc_theory.weightnorm import unit_norms
from gc_theory.weightnorm.initialization import data_dependent_init_raw_sigma
from gc_theory.weightnorm.pretrained import from_pretrained
from gc_theory.weightnorm.reparam import weight_norm, weight_norm_backward, weight_norm_hvp
from gc_theory.weightnorm.standardization import weight_standardization, weight_standardization_backward
from . import Context, Measurement, claim

SOURCE = "Salimans & Kingma, Weight Normalization, NeurIPS 2016 (arXiv:1602.07868)"
#: Weights, output axis first: fully connected (out, in) and conv (out, in, kh, kw).
SHAPES = ((1, 5), (10, 3), (64, 300), (8, 3, 3, 3), (32, 16, 3, 3), (4, 1, 1, 1))
#: Shapes whose M x M matrices M_w are formed (M up to 72, so the eigensolver stays cheap).
MATRIX_SHAPES = ((1, 5), (10, 3), (6, 40), (8, 3, 3, 3), (4, 8, 3, 3))


def _max(x: Any) -> float:
    xp = array_namespace(x)
    return float(xp.max(xp.abs(x)))


def _rows(x: Any) -> Any:
    """A weight (out, ...) as the matrix (out, M) of its units."""
    return array_namespace(x).reshape(x, (x.shape[0], math.prod(x.shape[1:])))


def _weight(ctx: Context, shape: tuple[int, ...]) -> Any:
    """A random v with a per-unit offset (real weights rarely have mean 0)."""
    offsets = ctx.rng.standard_normal((shape[0],) + (1,) * (len(shape) - 1))
    return ctx.asarray(ctx.rng.standard_normal(shape) + offsets)


def _lengths(ctx: Context, out: int) -> Any:
    """g of both signs, bounded away from 0."""
    return ctx.asarray(ctx.rng.choice([-1.0, 1.0], out) * ctx.rng.uniform(0.5, 2.0, out))


# --- 1. ||w|| = |g|, L(cv) = L(v) ----------------------------------------------------------


@claim(
    "wn.norm.equals_g",
    statement="||w|| = |g| per unit whatever the scale of v, and w(c v) = w(v) for every c > 0, so L(c v) = L(v)",
    source=SOURCE + ", Sec. 2, eq. 2",
    control="c < 0: w(c v) = -w(v)",
)
def norm_equals_g(ctx: Context, control: bool) -> Iterator[Measurement]:
    r"""Per unit: :math:`|\|w\| - |g||/|g|` and :math:`\max|w(cv) - w(v)|/|g|`.

    Notes
    -----
    Each entry of w has relative error :math:`\gamma_{M+6}`
    (:func:`~gc_theory.weightnorm.weight_norm`, Notes) and :math:`\|w\|` adds
    :math:`\gamma_{M+2}`, so :math:`|\|\hat w\| - |g|| \le \gamma_{2M+8}|g|`.
    Rounding :math:`c v` moves each entry by u relative, which moves the
    direction by at most 2u: two computed w differ by at most
    :math:`2\gamma_{M+7}|g|`.
    """
    xp = ctx.xp
    for shape in SHAPES:
        case = ctx.spawn(f"{shape}")
        v, g = _weight(case, shape), _lengths(case, shape[0])
        M = math.prod(shape[1:])
        w = weight_norm(v, g)
        if not control:
            norms = xp.sqrt(xp.sum(_rows(w) ** 2, axis=1))
            yield Measurement(_max((norms - xp.abs(g)) / g), gamma(2 * M + 8, ctx.dtype), 1.0, f"shape={shape}")
        for c in ((-1e-3, -7.5, -1e4) if control else (1e-3, 7.5, 1e4)):
            wc = weight_norm(c * v, g)
            residual = _max((_rows(wc) - _rows(w)) / g[:, None])
            yield Measurement(residual, 2 * gamma(M + 7, ctx.dtype), 1.0, f"shape={shape}, c={c:g}")


# --- 2. grad_v = (g/||v||) M_w grad_w, M_w an orthogonal projection ----------------------------


@claim(
    "wn.grad_v.projection",
    statement="grad_v = (g/||v||) M_w grad_w with M_w = I - w w^T/||w||^2 symmetric, idempotent, M_w w = 0, "
              "spectrum {0, 1 (M-1 times)}",
    source=SOURCE + ", Sec. 2.1, eqs. 3-4",
    control="the Householder reflection I - 2 w w^T/||w||^2 in place of M_w",
)
def grad_v_projection(ctx: Context, control: bool) -> Iterator[Measurement]:
    r"""The backward's :math:`\nabla_v L` against the explicit matrix, and M_w's four residuals.

    Notes
    -----
    The residuals of the matrix come from :mod:`gc_theory.gc.projections`, with
    their tolerances. For the identity: with :math:`u = v/\|v\|` computed to
    :math:`\gamma_{M+5}` relative, both sides are
    :math:`(g/\|v\|)(G - u\,u^\top G)` evaluated in two orders; each is within
    :math:`\gamma_{3M+14}\,s` of the exact value, with
    :math:`s = (|g|/\|v\|)(|G| + |u|\,|u|^\top|G|)`, so the tolerance is
    :math:`2\gamma_{3M+14}\max s`. The reflection is symmetric too, so symmetry
    is not measured in the control.
    """
    xp = ctx.xp
    for shape in MATRIX_SHAPES:
        case = ctx.spawn(f"{shape}")
        v, g = _weight(case, shape), _lengths(case, shape[0])
        grad_w = case.normal(*shape)
        grad_v, _ = weight_norm_backward(v, g, grad_w)
        w, V, G, Gv = _rows(weight_norm(v, g)), _rows(v), _rows(grad_w), _rows(grad_v)
        M = V.shape[1]
        n = xp.reshape(unit_norms(V, 0), (-1,))
        for j in range(min(shape[0], 2)):
            P = reflection_matrix(w[j, :]) if control else rank_one_projection(w[j, :])
            u = V[j, :] / n[j]
            s = abs(float(g[j] / n[j])) * _max(xp.abs(G[j, :]) + xp.abs(u) * float(xp.sum(xp.abs(u * G[j, :]))))
            predicted = (g[j] / n[j]) * (P @ G[j, :])
            where = f"shape={shape}, unit {j}"
            yield Measurement(_max(predicted - Gv[j, :]), 2 * gamma(3 * M + 14, ctx.dtype) * s, s, where)
            if M > 1:
                for m in ((idempotence_residual(P), annihilation_residual(P, w[j, :]), spectrum_residual(P))
                          + (() if control else (symmetry_residual(P),))):
                    yield Measurement(m.residual, m.tolerance, m.scale, f"{where}: {m.detail}")


def _orthogonality(ctx: Context, v: Any, g: Any, grad_w: Any, grad_v: Any, where: str) -> Measurement:
    r"""max over units of :math:`|u^\top \nabla_v|`, held to :math:`\gamma_{3M+14}\,|u|^\top s`."""
    xp = ctx.xp
    V, G, Gv = _rows(v), _rows(grad_w), _rows(grad_v)
    M = V.shape[1]
    n = unit_norms(V, 0)
    u = V / n
    s = xp.abs(g[:, None] / n) * (xp.abs(G) + xp.abs(u) * xp.sum(xp.abs(u * G), axis=1, keepdims=True))
    scale = xp.sum(xp.abs(u) * s, axis=1)
    ratio = xp.abs(xp.sum(u * Gv, axis=1)) / scale
    j = int(xp.argmax(ratio))
    return Measurement(float(xp.abs(xp.sum(u[j, :] * Gv[j, :]))), gamma(3 * M + 14, ctx.dtype) * float(scale[j]),
                       float(scale[j]), f"{where}, unit {j}")


# --- 3. v . grad_v = 0 ------------------------------------------------------------------------


@claim(
    "wn.grad_v.orthogonal",
    statement="v . grad_v = 0 for every unit: the gradient of v is orthogonal to v",
    source=SOURCE + ", Sec. 2.1",
    control="the gradient of the plain parameterisation w = v",
)
def grad_v_orthogonal(ctx: Context, control: bool) -> Iterator[Measurement]:
    r"""Per unit :math:`|u^\top\nabla_v L|` with :math:`u = v/\|v\|`.

    Notes
    -----
    Each computed entry of :math:`\nabla_v L` is within :math:`\gamma_{2M+10}\,s_i`
    of the exact one (see ``wn.grad_v.projection``), and the inner product with
    u adds :math:`\gamma_{M+4}`: the tolerance is :math:`\gamma_{3M+14}\,|u|^\top s`.
    In the control (w = v, so g/||v|| = 1 and no projection) the same bound is used.
    """
    for shape in SHAPES:
        case = ctx.spawn(f"{shape}")
        v, g = _weight(case, shape), _lengths(case, shape[0])
        grad_w = case.normal(*shape)
        if control:
            g = unit_norms(_rows(v), 0)[:, 0]
            grad_v = grad_w
        else:
            grad_v, _ = weight_norm_backward(v, g, grad_w)
        yield _orthogonality(ctx, v, g, grad_w, grad_v, f"shape={shape}")


# --- 4. norm growth under SGD -----------------------------------------------------------------

_NORM_GROWTH_STEPS = 15


@claim(
    "wn.norm_growth",
    statement="under plain SGD on (v, g), ||v_{t+1}||^2 = ||v_t||^2 + eta^2 ||grad_v||^2 at every step: ||v|| never decreases",
    source=SOURCE + ", Sec. 2.1",
    control="SGD with momentum, Adam, SGD with weight decay (the norm can shrink)",
)
def norm_growth(ctx: Context, control: bool) -> Iterator[Measurement]:
    r"""Per step and unit: :math:`|\|v'\|^2 - \|v\|^2 - \eta^2\|\nabla_v\|^2| / A` with :math:`A = \|v\|^2 + \eta^2\|\nabla_v\|^2`.

    Notes
    -----
    :math:`\|v - \eta\nabla_v\|^2 = \|v\|^2 + \eta^2\|\nabla_v\|^2 - 2\eta\,v^\top\nabla_v`
    and the last term is 0 (``wn.grad_v.orthogonal``). Rounding: :math:`v'`
    carries u per entry and each squared norm :math:`\gamma_{M+2}`, together
    :math:`3\gamma_{M+6}A`; the computed :math:`\nabla_v` is orthogonal to v
    only to :math:`\gamma_{3M+14}|u|^\top s`, which enters as
    :math:`2\eta\|v\|\gamma_{3M+14}|u|^\top s`.
    """
    xp = ctx.xp
    lr = 0.3
    optimisers = {"momentum": SGD(lr, momentum=0.9), "adam": Adam(0.05), "weight decay": SGD(lr, weight_decay=0.1)}
    for name, opt in (optimisers.items() if control else (("sgd", SGD(lr)),)):
        case = ctx.spawn(name)
        out, inp = 4, 12
        problem = LayerLeastSquares(case, out, inp, 32)
        params = {"v": _weight(case, (out, inp)), "g": _lengths(case, out)}
        state = opt.init(params)
        for t in range(_NORM_GROWTH_STEPS):
            v, g = params["v"], params["g"]
            grad_v, grad_g = weight_norm_backward(v, g, problem.grad(weight_norm(v, g)))
            params, state = opt.step(params, {"v": grad_v, "g": grad_g}, state)
            before = xp.sum(v * v, axis=1)
            after = xp.sum(params["v"] * params["v"], axis=1)
            A = before + lr**2 * xp.sum(grad_v * grad_v, axis=1)
            if control and t == 0 and name == "momentum":
                continue  # the first heavy-ball step is a plain SGD step
            ortho = _orthogonality(case, v, g, problem.grad(weight_norm(v, g)), grad_v, "")
            rel = xp.abs(after - A) / A
            j = int(xp.argmax(rel))
            tol = 3 * gamma(inp + 6, ctx.dtype) + 2 * lr * math.sqrt(float(before[j])) * ortho.tolerance / float(A[j])
            yield Measurement(float(rel[j]), tol, 1.0, f"{name}, step {t}, unit {j}")


# --- 5. effective learning rate ----------------------------------------------------------------


@claim(
    "wn.effective_lr",
    statement="to first order in eta an SGD step on (g, v) moves w by -eta (u u^T + (g^2/||v||^2)(I - u u^T)) grad_w: "
              "the residual is O(eta^2)",
    source=SOURCE + ", Sec. 2.1",
    control="an SGD step on the plain parameterisation w, whose residual is O(eta)",
)
def effective_lr(ctx: Context, control: bool) -> Iterator[Measurement]:
    r"""The order of :math:`r(\eta) = \max|\Delta w - \Delta w_{pred}|` on a ladder of learning rates: 2.

    Notes
    -----
    The order and its tolerance come from :func:`gc_theory.verify.order_fit.order_measurement`
    (Richardson-corrected slope, tolerance from the ladder's drift). Its
    rounding floor is that of :math:`\Delta w = w' - w`: each w carries
    :math:`\gamma_{M+6}` relative (:func:`~gc_theory.weightnorm.weight_norm`),
    so :math:`2\gamma_{M+7}\max|g|` per entry, plus :math:`\gamma_{M+4}` of the
    predicted step, times :math:`\sqrt{N}` for the 2-norm over N entries. g is set to 3 ||v|| so that the effective rate :math:`g^2/\|v\|^2 = 9`
    differs from the plain one.
    """
    xp = ctx.xp
    out, inp = 3, 10
    problem = LayerLeastSquares(ctx.spawn("problem"), out, inp, 24)
    case = ctx.spawn("weights")
    v = _weight(case, (out, inp))
    norm = unit_norms(v, 0)
    g = 3.0 * norm[:, 0]
    w = weight_norm(v, g)
    G = problem.grad(w)
    grad_v, grad_g = weight_norm_backward(v, g, G)
    u = v / norm
    uG = xp.sum(u * G, axis=1, keepdims=True)
    direction = u * uG + (g[:, None] / norm) ** 2 * (G - u * uG)
    steps = [float(h) for h in geometric_ladder(0.05, 4)]
    errors, floors = [], []
    # The 2-norm over all entries, not the max: the entry that attains a max can change along the
    # ladder, which kinks r(eta) and turns its slopes for reasons that have nothing to do with the order.
    root_n = math.sqrt(out * inp)
    for eta in steps:
        step = -eta * G if control else weight_norm(v - eta * grad_v, g - eta * grad_g) - w
        errors.append(float(xp.linalg.vector_norm(step + eta * direction)))
        floors.append(root_n * (2 * gamma(inp + 7, ctx.dtype) * _max(g) + gamma(inp + 4, ctx.dtype) * eta * _max(direction)))
    # The ladder stops at the last rung kept 100x above its rounding floor (the fit's default margin):
    # all four in float64; in float32 (a floor of about 3e-4 here) the smallest eta falls below it.
    kept = next((i for i, (e, f) in enumerate(zip(errors, floors)) if e < 100.0 * f), len(steps))
    steps, errors, floors = steps[: max(kept, 3)], errors[: max(kept, 3)], floors[: max(kept, 3)]
    yield order_measurement(steps, errors, 2.0, rounding_floor=floors,
                            detail=f"eta from {steps[0]:g} to {steps[-1]:g}" + (" (plain w)" if control else ""))


# --- 6. H_v v = -grad_v -----------------------------------------------------------------------


@claim(
    "wn.hvp.ray",
    statement="scale invariance at second order: H_v v = -grad_v (so v^T H_v v = 0)",
    source=SOURCE + ", Sec. 2.1",
    control="a Hessian-vector product that treats ||v|| as a constant",
)
def hvp_ray(ctx: Context, control: bool) -> Iterator[Measurement]:
    r""":math:`\max|H_v v + \nabla_v L|` on a least-squares loss, H from :func:`~gc_theory.weightnorm.weight_norm_hvp`.

    Notes
    -----
    In exact arithmetic :math:`dv = v` gives :math:`du = 0` and :math:`dn = n`.
    Computed, :math:`|1 - dn/n| \le \gamma_{2M+8}` and
    :math:`|du| \le 2\delta|u|/n` with :math:`\delta = \gamma_{2M+10}`, so
    :math:`|dG| \le |g|\,|H|\,(2\delta|u|/n) =: h`. The residual is then at most
    :math:`\gamma_{2M+8}|\nabla_v| + (|g|/n)\bigl(h + (2\delta/n)|u||u^\top G|
    + |u|((2\delta/n)|u|^\top|G| + |u|^\top h)\bigr)`, doubled for the roundings
    of the sums themselves. The control's :math:`H_v v` differs from
    :math:`-\nabla_v` at O(1).
    """
    xp = ctx.xp
    for out, inp in ((1, 4), (5, 30)):
        case = ctx.spawn(f"{out}x{inp}")
        problem = LayerLeastSquares(case, out, inp, 20)
        v, g = _weight(case, (out, inp)), _lengths(case, out)
        G = problem.grad(weight_norm(v, g))
        grad_v, _ = weight_norm_backward(v, g, G)
        if control:
            n = unit_norms(v, 0)
            u = v / n
            dG = problem.hvp(weight_norm(v, g))  # dw = g dv/n with n frozen: w itself
            uG = xp.sum(u * G, axis=1, keepdims=True)
            hv = (g[:, None] / n) * (dG - u * uG - u * (uG + xp.sum(u * dG, axis=1, keepdims=True)))
        else:
            hv = weight_norm_hvp(v, g, G, problem.hvp, v)
        n = unit_norms(v, 0)
        u = xp.abs(v / n)
        delta = gamma(2 * inp + 10, ctx.dtype)
        absx = xp.abs(problem.x)
        h = (absx @ ((xp.abs(g[:, None]) * 2 * delta * u / n)).T).T @ absx / problem.x.shape[0]
        AG = xp.abs(G)
        bound = (gamma(2 * inp + 8, ctx.dtype) * xp.abs(grad_v) + xp.abs(g[:, None] / n) * (
            h + (2 * delta / n) * u * xp.abs(xp.sum(u * G, axis=1, keepdims=True))
            + u * ((2 * delta / n) * xp.sum(u * AG, axis=1, keepdims=True) + xp.sum(u * h, axis=1, keepdims=True))))
        yield Measurement(_max(hv + grad_v), 2 * _max(bound), _max(grad_v), f"{out}x{inp}")


# --- 7. WN = BN on a whitened batch -----------------------------------------------------------


def _batch(ctx: Context, n: int, d: int, whitened: bool) -> Any:
    """A batch with sample mean 0 and covariance I (from a QR on the host), or one shifted and stretched off it."""
    z = ctx.rng.standard_normal((n, d))
    q, _ = np.linalg.qr(z - z.mean(axis=0))
    x = math.sqrt(n) * q
    return ctx.asarray(x if whitened else 0.5 + x * ctx.rng.uniform(0.5, 1.5, d))


@claim(
    "wn.bn_equals_wn.whitened",
    statement="on a whitened batch (mean 0, covariance I) batch norm of v.x equals weight norm with g = 1, b = 0, "
              "and so do their gradients",
    source=SOURCE + ", Sec. 2.2",
    control="a batch that is not whitened",
)
def bn_equals_wn(ctx: Context, control: bool) -> Iterator[Measurement]:
    r"""max|BN(x v^T) - WN(x)| and max|grad_v(BN) - grad_v(WN)|.

    Notes
    -----
    The batch is whitened up to rounding: Householder QR gives columns
    orthonormal to :math:`\gamma_{nd}` (Higham, Thm 19.4) and the cast to the
    dtype adds u per entry, so :math:`|\mu[t]| \le \delta` and
    :math:`|\sigma[t]/\|v\| - 1| \le \delta` with
    :math:`\delta = \gamma_{nd}\max(1, \overline{x^2})` (the covariance
    entries err by at most 2u of :math:`|x_i||x_j|`, whose mean is at most
    :math:`\overline{x^2}` by Cauchy-Schwarz). The outputs then differ by
    at most :math:`2\delta(1 + \max|t|) + 2\gamma_{2n+d+8}\max|t|`; the
    gradients (BN's extra terms are :math:`\overline{dy}\,\mathbf 1^\top x` and
    :math:`\overline{dy\,\hat t}\,\hat t^\top x`, each :math:`O(\delta)` on this batch),
    by :math:`(4\delta + \gamma_{3n+d+16})\bigl(\max(|dy|^\top|x|) + \max_j\sum_i|dy_{ij}|(1 + |t_{ij}|)\bigr)`.
    """
    xp = ctx.xp
    n, d, out = 64, 8, 5
    for k in range(3):
        case = ctx.spawn(f"batch {k}")
        x = _batch(case, n, d, whitened=not control)
        v = _weight(case, (out, d))
        dy = case.normal(n, out)
        linear, bn = Linear(d, out, bias=False), BatchNorm(out, eps=0.0)
        bn_params = {"weight": xp.ones((out,), dtype=ctx.dtype), "bias": xp.zeros((out,), dtype=ctx.dtype)}
        t, lin_cache = linear.forward({"weight": v}, x)
        y_bn, bn_cache = bn.forward(bn_params, t)
        dt, _ = bn.backward(bn_params, bn_cache, dy)
        _, lin_grads = linear.backward({"weight": v}, lin_cache, dt)
        wn = WeightNorm(linear)
        wn_params = {"v": v, "g": xp.ones((out,), dtype=ctx.dtype)}
        y_wn, wn_cache = wn.forward(wn_params, x)
        _, wn_grads = wn.backward(wn_params, wn_cache, dy)
        delta = gamma(n * d, ctx.dtype) * max(1.0, float(xp.mean(x * x)))
        tmax = _max(y_wn)
        tol_y = 2 * delta * (1 + tmax) + 2 * gamma(2 * n + d + 8, ctx.dtype) * tmax
        yield Measurement(_max(y_bn - y_wn), tol_y, tmax, f"outputs, batch {k}")
        gscale = _max(xp.abs(dy).T @ xp.abs(x)) + _max(xp.sum(xp.abs(dy) * (1 + xp.abs(y_wn)), axis=0))
        tol_g = (4 * delta + gamma(3 * n + d + 16, ctx.dtype)) * gscale
        yield Measurement(_max(lin_grads["weight"] - wn_grads["v"]), tol_g, gscale, f"grad_v, batch {k}")


# --- 8. data-dependent initialisation ----------------------------------------------------------

_INIT_SCALE = 0.5


def _networks() -> dict[str, Sequential]:
    return {
        "784->10": Sequential(WeightNorm(Linear(784, 10))),
        "784->2000->10": Sequential(WeightNorm(Linear(784, 2000)), ReLU(), WeightNorm(Linear(2000, 10))),
        "conv 1->4->6": Sequential(WeightNorm(Conv2d(1, 4, 3)), ReLU(), WeightNorm(Conv2d(4, 6, 3, padding=1))),
    }


def _raw_sigma_init(net: Sequential, params: dict[str, Any], x: Any) -> dict[str, Any]:
    """The control: every dense WeightNorm layer initialised from sigma of the raw v.x, layer by layer."""
    params = dict(params)
    for i, layer in enumerate(net.layers):
        p = {k.partition(".")[2]: a for k, a in params.items() if k.partition(".")[0] == str(i)}
        if isinstance(layer, WeightNorm):
            p["g"], p["bias"] = data_dependent_init_raw_sigma(p["v"], x, init_scale=_INIT_SCALE)
            params.update({f"{i}.{k}": a for k, a in p.items()})
        x, _ = layer.forward(p, x)
    return params


@claim(
    "wn.init.moments",
    statement="data-dependent initialisation gives every pre-activation unit mean 0 and standard deviation "
              "init_scale on the init batch, layer by layer, for narrow and wide layers",
    source=SOURCE + ", Sec. 3",
    control="the default init (g = ||v||, b from the plain layer) and sigma taken of the raw v.x",
)
def init_moments(ctx: Context, control: bool) -> Iterator[Measurement]:
    r"""Per WeightNorm layer: max over units of :math:`|\mu|` and of :math:`|\mathrm{std} - s|`, s = init_scale.

    Notes
    -----
    The init computes :math:`t = v\cdot x/\|v\|` and sets g, b from its moments;
    the check recomputes :math:`y = g\,t + b` through the layer with
    :math:`w = g v/\|v\|`. Entry by entry the two differ from the exact affine
    image of the first t by at most :math:`e = \gamma_{K+8}(|g|\,|u|^\top|x| + |b|)`
    (K the fan-in; :math:`\gamma_{K+6}` of w, the product and the sum with b),
    and the batch mean adds :math:`\gamma_n`. So :math:`|\mu| \le \gamma_{n+K+8}\max e'`
    and :math:`|\mathrm{std} - s| \le \gamma_{n+K+8}\max e' + \gamma_{2n+4}\,s` with
    :math:`e' = |g|\,|u|^\top|x| + |b|` per unit.
    """
    xp = ctx.xp
    for name, net in _networks().items():
        case = ctx.spawn(name)
        shape = (16, 1, 10, 10) if name.startswith("conv") else (64, 784)
        x = case.asarray(case.rng.uniform(0.0, 1.0, shape))
        params = net.init(case.rng, xp, ctx.dtype)
        kinds = ("default", "raw sigma") if control else ("data-dependent",)
        for kind in kinds:
            if kind == "data-dependent":
                p_all = data_dependent_init_network(net, params, x, init_scale=_INIT_SCALE)
            elif kind == "raw sigma":
                if name.startswith("conv"):
                    continue
                p_all = _raw_sigma_init(net, params, x)
            else:
                p_all = params
            h = x
            for i, (layer, p) in enumerate(zip(net.layers, net.split(p_all))):
                y, _ = layer.forward(p, h)
                if isinstance(layer, WeightNorm):
                    yield from _moments(ctx, layer, p, h, y, f"{name}, layer {i}, {kind}")
                h = y


def _moments(ctx: Context, layer: WeightNorm, p: dict[str, Any], x: Any, y: Any, where: str) -> Iterator[Measurement]:
    xp = ctx.xp
    axes = tuple(i for i in range(y.ndim) if i != 1)
    count = math.prod(y.shape[i] for i in axes)
    fan = math.prod(p["v"].shape[1:])
    mu = xp.mean(y, axis=axes)
    std = xp.sqrt(xp.mean((y - xp.reshape(mu, (1, -1) + (1,) * (y.ndim - 2))) ** 2, axis=axes))
    v_abs = xp.abs(p["v"]) / unit_norms(p["v"], 0)
    plain_abs = layer.layer.forward({"weight": v_abs, "bias": xp.abs(p["bias"]) * 0}, xp.abs(x))[0]
    g_shape = (1, -1) + (1,) * (y.ndim - 2)
    e = xp.max(xp.abs(xp.reshape(p["g"], g_shape)) * plain_abs + xp.abs(xp.reshape(p["bias"], g_shape)), axis=axes)
    tol_mean = gamma(count + fan + 8, ctx.dtype) * e
    j = int(xp.argmax(xp.abs(mu) / tol_mean))
    yield Measurement(float(xp.abs(mu[j])), float(tol_mean[j]), float(e[j]), f"{where}: mean of unit {j}")
    tol_std = tol_mean + gamma(2 * count + 4, ctx.dtype) * _INIT_SCALE
    j = int(xp.argmax(xp.abs(std - _INIT_SCALE) / tol_std))
    yield Measurement(float(xp.abs(std[j] - _INIT_SCALE)), float(tol_std[j]), float(e[j]), f"{where}: std of unit {j}")


# --- 9. mean-only batch norm's backward is GC over the batch ----------------------------------


@claim(
    "wn.mobn.backward_is_gc",
    statement="mean-only batch norm's input gradient is P dy over the examples: dy minus its batch mean (GC's P)",
    source=SOURCE + ", Sec. 4",
    control="full batch norm's backward",
)
def mobn_backward_is_gc(ctx: Context, control: bool) -> Iterator[Measurement]:
    r"""max|dx - centralize(dy over the batch)| for (n, d) and (n, c, h, w) inputs.

    Notes
    -----
    Both sides subtract the mean of the same N = n h w numbers from each; each
    mean is within :math:`\gamma_N\max|dy|` of the exact one and each
    subtraction rounds once, so the two differ by at most :math:`2\gamma_{N+1}\max|dy|`.
    """
    xp = ctx.xp
    for shape in ((16, 5), (1, 3), (4, 3, 3, 3)):
        case = ctx.spawn(f"{shape}")
        x = case.asarray(case.rng.standard_normal(shape) * 2.0 + 1.0)
        dy = case.normal(*shape)
        channels = shape[1]
        if control:
            layer: Any = BatchNorm(channels, eps=0.0)
            params = {"weight": xp.ones((channels,), dtype=ctx.dtype), "bias": xp.zeros((channels,), dtype=ctx.dtype)}
            if shape[0] * math.prod(shape[2:]) < 2:
                continue  # batch norm of one example is undefined
        else:
            layer = MeanOnlyBatchNorm(channels)
            params = {"bias": case.normal(channels)}
        _, cache = layer.forward(params, x)
        dx, _ = layer.backward(params, cache, dy)
        order = (1, 0) + tuple(range(2, len(shape)))
        reference = xp.permute_dims(centralize(xp.permute_dims(dy, order)), order)
        N = shape[0] * math.prod(shape[2:])
        yield Measurement(_max(dx - reference), 2 * gamma(N + 1, ctx.dtype) * _max(dy), _max(dy), f"shape={shape}")


# --- 10. weight standardisation's backward centralises ----------------------------------------


@claim(
    "wn.ws.backward_centres",
    statement="the gradient through weight standardisation has zero mean per output unit (GC inside WS) "
              "and is orthogonal to the standardised weight",
    source="Qiao et al., Weight Standardization, arXiv:1903.10520, Sec. 3 (with " + SOURCE + ")",
    control="WN's gradient grad_v, which is not centred",
)
def ws_backward_centres(ctx: Context, control: bool) -> Iterator[Measurement]:
    r"""Per unit :math:`|\overline{\nabla_w}|` and :math:`|\hat w^\top\nabla_w|/M`.

    Notes
    -----
    :math:`\nabla_w = (G - \bar G - \hat w\,\overline{\hat w G})/\sigma`; each
    entry is within :math:`\gamma_{2M+12}\,s_i/\sigma` of exact, with
    :math:`s_i = |G_i| + \overline{|G|} + |\hat w_i|\,\overline{|\hat w||G|}`
    (:math:`\hat w` carries :math:`\gamma_{M+6}`, each mean :math:`\gamma_M`).
    A mean or an inner product over M entries adds :math:`\gamma_{M+4}`, so
    the tolerances are :math:`\gamma_{3M+16}\,\bar s/\sigma` and
    :math:`\gamma_{3M+16}\,\overline{|\hat w| s}/\sigma`.
    """
    xp = ctx.xp
    for shape in SHAPES:
        if math.prod(shape[1:]) < 2:
            continue  # a unit of one entry cannot be standardised
        case = ctx.spawn(f"{shape}")
        w, G = _weight(case, shape), case.normal(*shape)
        if control:
            grad, _ = weight_norm_backward(w, xp.ones((shape[0],), dtype=ctx.dtype), G)
        else:
            grad = weight_standardization_backward(w, G)
        W, Gr, D = _rows(w), _rows(G), _rows(grad)
        ws = _rows(weight_standardization(w))
        sigma = xp.sqrt(xp.mean((W - xp.mean(W, axis=1, keepdims=True)) ** 2, axis=1, keepdims=True))
        M = W.shape[1]
        s = (xp.abs(Gr) + xp.mean(xp.abs(Gr), axis=1, keepdims=True)
             + xp.abs(ws) * xp.mean(xp.abs(ws * Gr), axis=1, keepdims=True)) / sigma
        for name, values, scale in (("mean", D, s), ("w_hat . grad / M", ws * D, xp.abs(ws) * s)):
            stat = xp.abs(xp.mean(values, axis=1))
            tol = gamma(3 * M + 16, ctx.dtype) * xp.mean(scale, axis=1)
            j = int(xp.argmax(stat / tol))
            yield Measurement(float(stat[j]), float(tol[j]), float(xp.mean(scale, axis=1)[j]), f"shape={shape}, {name}, unit {j}")


# --- 11. GC composes with WN ------------------------------------------------------------------


@claim(
    "wn.gc_composes",
    statement="GC applied to grad_v keeps e^T (v_t - v_0) = 0 per unit along an SGD trajectory of v",
    source=SOURCE + ", Sec. 2, with Yong et al., Gradient Centralization, ECCV 2020, Sec. 3.2",
    control="the same trajectory without GC",
)
def gc_composes(ctx: Context, control: bool) -> Iterator[Measurement]:
    r"""Per step: :math:`\max_j |\mathbf 1^\top(v_{t,j} - v_{0,j})|`.

    Notes
    -----
    A centralised gradient sums to :math:`\gamma_{M+1}M\max|\nabla|` instead of
    0, and every update rounds each of the M entries by u of :math:`|v_{t+1}|`;
    the final sum of :math:`v_t - v_0` adds :math:`\gamma_{M}M\max|v_t - v_0|`
    and the subtraction u M max|v|. Summed over the steps so far:
    :math:`\sum_s M(\eta\gamma_{M+1}\max|\nabla_s| + u\max|v_{s+1}|) +
    M(\gamma_M\max|v_t - v_0| + u\max(|v_t|, |v_0|))`.
    """
    xp = ctx.xp
    out, inp, lr = 4, 9, 0.3
    problem = LayerLeastSquares(ctx.spawn("problem"), out, inp, 24)
    case = ctx.spawn("weights")
    v0, g = _weight(case, (out, inp)), _lengths(case, out)
    v, budget = v0, 0.0
    u = unit_roundoff(ctx.dtype)
    for t in range(20):
        grad_v, _ = weight_norm_backward(v, g, problem.grad(weight_norm(v, g)))
        step = grad_v if control else centralize(grad_v)
        v = v - lr * step
        budget += inp * (lr * gamma(inp + 1, ctx.dtype) * _max(grad_v) + u * _max(v))
        drift = v - v0
        tol = budget + inp * (gamma(inp, ctx.dtype) * _max(drift) + u * max(_max(v), _max(v0)))
        yield Measurement(_max(xp.sum(drift, axis=1)), tol, _max(v), f"step {t}")


# --- 12. the covariance of grad_v --------------------------------------------------------------


@claim(
    "wn.grad_v.covariance",
    statement="over minibatches, cov(grad_v) = (g^2/||v||^2) M_w cov(grad_w) M_w, and w is in its null space",
    source=SOURCE + ", Sec. 2.1",
    control="cov(grad_w) itself in place of cov(grad_v)",
)
def grad_v_covariance(ctx: Context, control: bool) -> Iterator[Measurement]:
    r"""Sample covariances over K minibatches: max|D - (g/n)^2 M_w C M_w| and max|D u|.

    Notes
    -----
    At fixed v, :math:`\nabla_v = (g/n) M_w \nabla_w` is a linear image of
    :math:`\nabla_w`, so the *sample* covariances obey the identity exactly:
    no sampling error enters and the tolerance is a rounding bound. With
    :math:`a_k` the centred minibatch gradients and
    :math:`|C| := \sum_k |a_k||a_k|^\top/(K-1)`, each computed covariance entry
    is within :math:`\gamma_{K+3}` of that, the projection (entries within
    :math:`\gamma_{2M+8}`, :mod:`gc_theory.gc.projections`) and the two products
    add :math:`\gamma_{2M+16}`: the tolerance is
    :math:`2\gamma_{K+2M+20}(g/n)^2\max(|M_w||C||M_w|)`; for :math:`Du` one
    more product, :math:`\gamma_{K+3M+20}` times :math:`|D|\,|u|`.
    """
    xp = ctx.xp
    inp, batch, K = 6, 8, 200
    problem = LayerLeastSquares(ctx.spawn("problem"), 1, inp, batch * K)
    case = ctx.spawn("weights")
    v, g = _weight(case, (1, inp)), _lengths(case, 1)
    w = weight_norm(v, g)
    grads_w = xp.concat([problem.grad(w, slice(k * batch, (k + 1) * batch)) for k in range(K)], axis=0)
    grads_v, _ = weight_norm_backward(xp.concat([v] * K, axis=0), xp.concat([g] * K, axis=0), grads_w)

    def cov(a: Any) -> tuple[Any, Any]:
        c = a - xp.mean(a, axis=0, keepdims=True)
        return c.T @ c / (K - 1), xp.abs(c).T @ xp.abs(c) / (K - 1)

    C, C_abs = cov(grads_w)
    D, D_abs = (C, C_abs) if control else cov(grads_v)
    P = rank_one_projection(w[0, :])
    factor = float((g[0] / unit_norms(v, 0)[0, 0]) ** 2)
    predicted = factor * (P @ C @ P)
    scale = factor * _max(xp.abs(P) @ C_abs @ xp.abs(P))
    yield Measurement(_max(D - predicted), 2 * gamma(K + 2 * inp + 20, ctx.dtype) * scale, scale, f"K={K}, M={inp}")
    u = w[0, :] / unit_norms(w, 0)[0, 0]
    null_scale = _max(D_abs @ xp.abs(u))
    yield Measurement(_max(D @ u), gamma(K + 3 * inp + 20, ctx.dtype) * null_scale, null_scale, f"D u, K={K}")


# --- A trained weight converts exactly: v = w, g = ||w|| ------------------------------------


@claim(
    "wn.pretrained.converts",
    statement="a trained weight w converts to WN exactly: v = w, g = ||w|| gives g v/||v|| = w, one extra g per unit",
    source=SOURCE + ", Sec. 2 (against the notes' 'WN cannot be applied to pretrained weights')",
    control="g = 1 (the direction alone): w/||w|| differs from w by | ||w|| - 1 |",
)
def pretrained_converts(ctx: Context, control: bool) -> Iterator[Measurement]:
    r"""Per shape: :math:`\max|g\,v/\|v\| - w| / \max|w|` with :math:`(v, g)` from :func:`~gc_theory.weightnorm.pretrained.from_pretrained`.

    Notes
    -----
    Both norms are the same computed number n (the same function on the same
    array), so each entry is :math:`\mathrm{fl}(\mathrm{fl}(w/n)\,n)`, within
    :math:`\gamma_2|w|` of w.
    """
    xp = ctx.xp
    for shape in SHAPES:
        w = 3.0 * _weight(ctx.spawn(f"{shape}"), shape)  # unit norms far from 1, so the control cannot pass by luck
        v, g = from_pretrained(w)
        if control:
            g = xp.ones_like(g)
        yield Measurement(_max(weight_norm(v, g) - w) / _max(w), gamma(2, ctx.dtype), 1.0, f"shape={shape}")


@claim(
    "wn.batch_independence",
    statement="WN's output for an example does not depend on the other examples of its batch: redrawing them moves "
    "its output by at most the rounding of its own dot products, 2 gamma_{K+1} (|x_i||w| + |b|)",
    source=SOURCE + ", Sec. 2.2 (WN, unlike batch norm, adds no dependence between the examples of a minibatch)",
    control="the same WN layer followed by batch norm: the batch mean and variance carry the other examples into the row",
)
def batch_independence(ctx: Context, control: bool) -> list[Measurement]:
    # The bound is derived in batch_independence_measurements' Notes.
    return batch_independence_measurements(ctx, control)
