r"""The residuals that measure GC's properties, each against a tolerance derived from rounding bounds.

A residual function takes arrays that some implementation of GC produced and
returns a :class:`~gc_theory.verify.measurement.Measurement`: the claims of
:mod:`gc_theory.claims.gc` call them on the toolkit's own ``centralize``, and
the property-based tests on sizes and values drawn by hypothesis. Each
tolerance follows Higham's :math:`\gamma_n` bounds
(:mod:`gc_theory.verify.tolerances`) and is derived in its function's Notes.
The properties of P as a matrix (symmetric, idempotent, annihilates e, spectrum
{0, 1}) are those of any rank-one projection: :mod:`gc_theory.gc.projections`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from gc_theory.core.backend import array_namespace
from gc_theory.verify.measurement import Measurement
from gc_theory.verify.tolerances import gamma, smallest_subnormal, unit_roundoff

from .centralization import as_columns, centralize, from_columns, projection_matrix

__all__ = ["centralize_tolerance", "layer_centralize", "norm_gap_measurement", "hessian_bound_residual", "matches_projection_residual", "pythagoras_residual", "repeat_residual"]


def _max_abs(x: Any) -> float:
    xp = array_namespace(x)
    return float(xp.max(xp.abs(x))) if math.prod(x.shape) else 0.0



def centralize_tolerance(M: int, dtype: Any, scale: float) -> float:
    r""":math:`(3\gamma_{M+1} + 5u)\max|g|`: the rounding of two ways to compute :math:`Pg`.

    ``centralize`` rounds the mean (:math:`\gamma_{M+1}\max|g|`, summation and
    division) and the subtraction (:math:`2u\max|g|`); the product
    :math:`\hat P g` rounds by :math:`\gamma_M |\hat P||g| \le 2\gamma_M(1+u)\max|g|`
    (row sums of :math:`|P|` are below 2) and carries :math:`\hat P`'s own
    rounding, :math:`2u\max|g|`. Adding up gives the bound.

    With gradual underflow each rounded product or quotient may also be off by
    an absolute :math:`\eta \le s/2`, s the smallest subnormal (additions are
    exact there; Higham, Sec. 2.1): M products in :math:`\hat P g`, the
    division of the mean, and the comparison's own subtraction add at most
    :math:`(M + 2)s/2`, so the bound holds for every finite g, however tiny.
    """
    relative = (3 * gamma(M + 1, dtype) + 5 * unit_roundoff(dtype)) * scale
    return relative + (M + 2) * smallest_subnormal(dtype) / 2


def matches_projection_residual(g: Any, centralized: Any) -> Measurement:
    """max |centralized - from_columns(P @ as_columns(g))|: the stored and the paper's view agree."""
    xp = array_namespace(g)
    columns = as_columns(g)
    M = columns.shape[0]
    P = projection_matrix(M, xp=xp, dtype=g.dtype)
    expected = from_columns(P @ columns, g.shape)
    scale = max(_max_abs(g), 1e-300)
    residual = float(xp.max(xp.abs(centralized - expected)))
    return Measurement(residual, centralize_tolerance(M, g.dtype, scale), scale, f"shape={tuple(g.shape)}")


def repeat_residual(once: Any, twice: Any, g: Any, M: int) -> Measurement:
    """max |twice - once|, with the tolerance of the centralize bound applied to g."""
    xp = array_namespace(g)
    scale = max(_max_abs(g), 1e-300)
    residual = float(xp.max(xp.abs(twice - once)))
    return Measurement(residual, centralize_tolerance(M, g.dtype, scale), scale, f"shape={tuple(g.shape)}")


def pythagoras_residual(vectors: Any, projected: Any) -> Measurement:
    r"""max over rows of :math:`|(\|g\|^2 - \|Pg\|^2) - M\,\bar g^2| / \|g\|^2`.

    The identity is Pythagoras for :math:`g = Pg + (e^\top g)e`; it gives
    :math:`\|Pg\| \le \|g\|`, with equality exactly when :math:`\bar g = 0`.

    Notes
    -----
    Squared norms are computed with relative error :math:`\gamma_M`; each entry
    of the computed :math:`Pg` is off by at most
    :math:`\eta = (\gamma_{M+1} + 2u)\max|g|`, which moves :math:`\|Pg\|^2` by
    at most :math:`2\sqrt{M}\eta\|g\| + M\eta^2`; the rounded mean moves
    :math:`M\bar g^2` by at most :math:`2\sqrt{M}\gamma_{M+1}\|g\|^2`. With
    :math:`\max|g| \le \|g\|` the relative tolerance is
    :math:`2\gamma_M + 4\sqrt{M}(\gamma_{M+1} + 2u) + M(\gamma_{M+1} + 2u)^2`.
    """
    xp = array_namespace(vectors)
    M = vectors.shape[1]
    norm2 = xp.sum(vectors * vectors, axis=1)
    gap = norm2 - xp.sum(projected * projected, axis=1)
    mean = xp.mean(vectors, axis=1)
    # A zero row satisfies the identity exactly (0 = 0); dividing by its zero norm would give NaN.
    safe = xp.where(norm2 > 0, norm2, xp.ones_like(norm2))
    residual = float(xp.max(xp.abs(gap - M * mean * mean) / safe))
    eta = gamma(M + 1, vectors.dtype) + 2 * unit_roundoff(vectors.dtype)
    tol = 2 * gamma(M, vectors.dtype) + 4 * math.sqrt(M) * eta + M * eta**2
    return Measurement(residual, tol, 1.0, f"M={M}")


def hessian_bound_residual(P: Any, H: Any) -> Measurement:
    r""":math:`\max(0, \|P H P\|_2 - \|H\|_2) / \|H\|_2`.

    Notes
    -----
    Normwise, :math:`\|fl(AB) - AB\|_F \le \gamma_M \|A\|_F \|B\|_F` (Higham
    Eq. 3.13); two products with :math:`\|P\|_F \le \sqrt{M}` and
    :math:`\|H\|_F \le \sqrt{M}\|H\|_2` add at most :math:`2M\gamma_M\|H\|_2`,
    P's rounding :math:`2u\sqrt{M}\|H\|_2`, and the two spectral norms
    (from an SVD) :math:`2M\epsilon\|H\|_2` more.
    """
    xp = array_namespace(P)
    M = P.shape[0]
    norm_H = float(xp.linalg.matrix_norm(H, ord=2))
    norm_PHP = float(xp.linalg.matrix_norm(P @ H @ P, ord=2))
    u = unit_roundoff(P.dtype)
    tol = 2 * M * gamma(M, P.dtype) + 2 * u * math.sqrt(M) + 4 * M * u
    return Measurement(max(0.0, norm_PHP - norm_H) / norm_H, tol, 1.0, f"M={M}")


def _rows(x: Any) -> Any:
    xp = array_namespace(x)
    return xp.reshape(x, (x.shape[0], -1))


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
