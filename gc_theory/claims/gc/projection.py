r"""Claims about the GC projection :math:`P = I - e e^\top` and the operator ``centralize``.

Each claim is a check ``(ctx, control)`` returning the measurement of each of a
fixed set of sizes. P is the rank-one projection of
:mod:`gc_theory.gc.projections` with the direction :math:`e`; its four
measurements live there and are re-exported here. The measuring functions
(``*_residual``) are public so that the
property-based tests run the very same measurement on sizes and values drawn
by hypothesis. Tolerances follow Higham's :math:`\gamma_n` bounds
(:mod:`gc_theory.verify.tolerances`); each derivation is in the function's Notes.

Source: H. Yong et al., "Gradient Centralization", ECCV 2020 [arXiv:2004.01461],
Sec. 3.2 (Eqs. 4-5: P and its properties) and Sec. 3.3 / Appendix (Lipschitz
statements, Theorem 4.1 of the arXiv version).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gc_theory import optim
from gc_theory.gc.centralization import centralize, projection_matrix
from gc_theory.models import mlp
from gc_theory.problems.invariance import invariance_measurement
from gc_theory.experiments.training import full_batch_trajectory
from gc_theory.gc.residuals import hessian_bound_residual, matches_projection_residual, pythagoras_residual, repeat_residual
from gc_theory.gc.projections import (
    annihilation_residual,
    idempotence_residual,
    oblique_projection,
    rank_one_projection,
    reflection_matrix,
    spectrum_residual,
    symmetry_residual,
)
from gc_theory.claims import SYMBOLIC, Context, Measurement, claim

SOURCE = "Yong et al., Gradient Centralization, ECCV 2020"
#: Sizes M of P checked by the registry claims (M = 1 is the degenerate P = 0).
SIZES = (1, 2, 3, 7, 64, 257)
#: Weight shapes, output axis first: fully connected (out, in) and conv (out, in, kh, kw).
WEIGHT_SHAPES = ((1, 5), (10, 3), (64, 300), (8, 3, 3, 3), (32, 16, 3, 3), (4, 1, 1, 1), (5, 2, 1, 7))


# --- GC is the rank-one projection with u = e --------------------------------------


def _ones(ctx: Context, M: int) -> Any:
    """The direction of e, unnormalised: the projection routines scale it themselves."""
    return ctx.xp.ones((M,), dtype=ctx.dtype)


def _P(ctx: Context, M: int) -> Any:
    return projection_matrix(M, xp=ctx.xp, dtype=ctx.dtype)


def _test_gradients(ctx: Context, shape: tuple[int, ...]) -> Any:
    """Gradients with a per-unit offset, since real gradients rarely have zero mean."""
    offsets = ctx.rng.standard_normal((shape[0],) + (1,) * (len(shape) - 1))
    return ctx.asarray(ctx.rng.standard_normal(shape) + offsets)


# --- the registry claims --------------------------------------------------------------


@claim(
    "gc.P.symmetric",
    statement="P = I - e e^T is symmetric: P^T = P",
    source=f"{SOURCE}, Sec. 3.2 (P is an orthogonal projection)",
    control="oblique projection I - e c^T/(c^T e): idempotent, same kernel, not symmetric",
)
def _symmetric(ctx: Context, control: bool) -> list[Measurement]:
    if control:
        return [symmetry_residual(oblique_projection(_ones(ctx, M), ctx.spawn(f"M={M}").rng)) for M in SIZES if M >= 2]
    return [symmetry_residual(_P(ctx, M)) for M in SIZES]


@claim(
    "gc.P.idempotent",
    statement="P is idempotent: P^2 = P (projecting twice is projecting once)",
    source=f"{SOURCE}, Sec. 3.2",
    control="reflection R = I - 2 e e^T, for which R^2 = I",
)
def _idempotent(ctx: Context, control: bool) -> list[Measurement]:
    return [idempotence_residual(reflection_matrix(_ones(ctx, M)) if control else _P(ctx, M)) for M in SIZES]


@claim(
    "gc.P.annihilates_e",
    statement="e^T P = 0 and P e = 0: P removes exactly the mean direction",
    source=f"{SOURCE}, Sec. 3.2 (e^T P = 0, Eq. 5)",
    control="I - u u^T for a random unit u != e (projects out the wrong direction)",
)
def _annihilates(ctx: Context, control: bool) -> list[Measurement]:
    def case(M: int) -> Measurement:
        if not control:
            return annihilation_residual(_P(ctx, M), _ones(ctx, M))
        u = ctx.spawn(f"M={M}").normal(M)
        return annihilation_residual(rank_one_projection(u), _ones(ctx, M))

    return [case(M) for M in SIZES if M >= 2 or not control]


@claim(
    "gc.P.spectrum",
    statement="eig(P) = {0 once, 1 (M-1 times)}, so rank P = M - 1",
    source=f"{SOURCE}, Sec. 3.2",
    control="I - e e^T/2, which halves the mean instead of removing it (eigenvalue 1/2)",
)
def _spectrum(ctx: Context, control: bool) -> list[Measurement]:
    def make(M: int) -> Any:
        if not control:
            return projection_matrix(M, xp=ctx.xp, dtype=ctx.dtype)
        return ctx.xp.eye(M, dtype=ctx.dtype) - ctx.xp.full((M, M), 0.5 / M, dtype=ctx.dtype)

    return [spectrum_residual(make(M)) for M in SIZES]


@claim(
    "gc.centralize.matches_P",
    statement="centralize(G) equals P applied to each weight vector (column of the paper's W), FC and conv layouts",
    source=f"{SOURCE}, Eq. (4)-(5); reshape (out, in, kh, kw) -> (M = in*kh*kw, N = out)",
    control="the mean taken over the output axis instead (a layout bug)",
)
def _matches_p(ctx: Context, control: bool) -> list[Measurement]:
    def case(shape: tuple[int, ...]) -> Measurement:
        g = _test_gradients(ctx.spawn(f"shape={shape}"), shape)
        # The control averages over the output axis instead: the mistake of a layout read the wrong way round.
        wrong = g - ctx.xp.mean(g, axis=0, keepdims=True)
        return matches_projection_residual(g, wrong if control else centralize(g))

    return [case(s) for s in WEIGHT_SHAPES if not control or s[0] > 1]


@claim(
    "gc.centralize.idempotent",
    statement="centralize(centralize(G)) = centralize(G)",
    source=f"{SOURCE}, Sec. 3.2 (P^2 = P)",
    control="reflection g - 2 mean(g), applied twice, returns g",
)
def _centralize_twice(ctx: Context, control: bool) -> list[Measurement]:
    def op(g: Any) -> Any:
        return 2 * centralize(g) - g if control else centralize(g)

    def case(shape: tuple[int, ...]) -> Measurement:
        g = _test_gradients(ctx.spawn(f"shape={shape}"), shape)
        once = op(g)
        return repeat_residual(once, op(once), g, math.prod(shape[1:]))

    return [case(s) for s in WEIGHT_SHAPES if math.prod(s[1:]) > 1]


@claim(
    "gc.P.norm_gap",
    statement="||g||^2 - ||P g||^2 = M mean(g)^2, so ||P g|| <= ||g|| with equality exactly when mean(g) = 0",
    source=f"{SOURCE}, Sec. 3.3 (GC shrinks the gradient norm)",
    control="oblique projection (idempotent, not orthogonal), which can lengthen g",
)
def _norm_gap(ctx: Context, control: bool) -> list[Measurement]:
    def case(M: int) -> Measurement:
        case_ctx = ctx.spawn(f"M={M}")
        g = case_ctx.rng.standard_normal((16, M)) + case_ctx.rng.standard_normal((16, 1))
        # Integer rows with zero sum: mean exactly 0 in floating point, the equality case.
        ints = case_ctx.rng.integers(-50, 50, size=(4, M)).astype(float)
        ints[:, -1] -= ints.sum(axis=1)
        vectors = ctx.asarray(np.concatenate([g, ints]))
        projected = vectors @ oblique_projection(_ones(ctx, M), case_ctx.rng).T if control else centralize(vectors)
        return pythagoras_residual(vectors, projected)

    return [case(M) for M in SIZES if M >= 2]


@claim(
    "gc.P.hessian_bound",
    statement="||P H P||_2 <= ||H||_2 for symmetric H: GC does not raise the loss's Lipschitz-smoothness constant",
    source=f"{SOURCE}, Sec. 3.3 and Appendix (Lipschitz bounds, Theorem 4.1 of arXiv:2004.01461)",
    control="Q H Q with an oblique projection Q (||Q||_2 = sqrt(10)) and H = x x^T, x the direction Q "
    "lengthens most: ||Q H Q||_2 = sqrt(10) ||H||_2",
)
def _hessian_bound(ctx: Context, control: bool) -> list[Measurement]:
    def case(M: int) -> Measurement:
        case_ctx = ctx.spawn(f"M={M}")
        if not control:
            A = case_ctx.rng.standard_normal((M, M))
            return hessian_bound_residual(_P(ctx, M), ctx.asarray((A + A.T) / 2))
        # A random H need not expose Q (at some seeds ||Q H Q|| <= ||H|| by chance). The rank-one
        # H = x x^T along Q's top right singular vector always does: with Q = I - u c^T, x is the
        # tilt direction v, Qx has norm sqrt(1 + tilt^2) and Q^T x = x.
        Q = oblique_projection(_ones(ctx, M), case_ctx.rng)
        x = ctx.xp.linalg.svd(Q)[2][0, :]
        return hessian_bound_residual(Q, x[:, None] * x[None, :])

    return [case(M) for M in SIZES if M >= 2]


@claim(
    "gc.P.symbolic",
    statement="for symbolic M: (P^2)_ij = P_ij, P_ij = P_ji and sum_i P_ij = 0, with P_ij = delta_ij - 1/M",
    source=f"{SOURCE}, Sec. 3.2; proof by exact index algebra (sympy)",
    control="Q_ij = delta_ij - 2/M in place of P (a reflection): Q^2 = Q must fail",
    runs_on=SYMBOLIC,
)
def _symbolic(ctx: Context, control: bool) -> Measurement:
    from gc_theory.gc.symbolic import projection_identities

    failures = projection_identities(coefficient=2 if control else 1)
    return Measurement(float(len(failures)), 0.0, 1.0, "; ".join(failures) or "all identities reduce to 0")


# --- output-feature invariance under GC-SGD(M) -------------------------------------------

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


@claim(
    "gc.output_invariance.shift",
    statement="every weight W (out, in) trained with GC-SGD, GC-momentum or GC-Nesterov satisfies "
    "W_t(x + gamma*1) - W_t x = gamma*W_0 1 at every t (= 0 with a zero-mean initialisation)",
    source="Yong et al., Gradient Centralization, ECCV 2020, Sec. 3.3 (output feature space regularisation)",
    control="the same training without GC (plain SGD, momentum, Nesterov): the response to the shift changes",
)
def _output_invariance(ctx: Context, control: bool) -> list[Measurement]:
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
    return cases
