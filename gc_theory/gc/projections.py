r"""Area-neutral rank-one projections :math:`P_u = I - u u^\top / \|u\|^2` and their checks.

Two methods in this toolkit are the same projection with a different
direction: Gradient Centralization removes the mean direction
:math:`e = \mathbf{1}/\sqrt{M}` from each weight vector's gradient [1]_, and
Weight Normalization removes the weight direction :math:`w` from the gradient
of :math:`v` [2]_. This module builds :math:`P_u` for any nonzero :math:`u`,
applies it without forming the matrix (:func:`project_out`), measures the four
defining properties with derived tolerances, and builds the two controls that
look like projections but are not (:func:`reflection_matrix`,
:func:`oblique_projection`).

Everything here is written against the array API: :math:`u` decides the
namespace and dtype.

References
----------
.. [1] H. Yong, J. Huang, X. Hua, L. Zhang, "Gradient Centralization: A New
   Optimization Technique for Deep Neural Networks", ECCV 2020, Sec. 3.2.
   arXiv:2004.01461.
.. [2] T. Salimans, D. P. Kingma, "Weight Normalization: A Simple
   Reparameterization to Accelerate Training of Deep Neural Networks",
   NeurIPS 2016, Sec. 2.1. arXiv:1602.07868.
.. [3] N. J. Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed.,
   SIAM 2002, Sec. 3.1-3.5 (the :math:`\gamma_n` bounds).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gc_theory.core.validation import check_finite_floating, check_floating, check_int, check_positive
from gc_theory.core.backend import array_namespace
from gc_theory.verify.measurement import Measurement
from gc_theory.verify.tolerances import gamma, unit_roundoff

__all__ = [
    "annihilation_residual",
    "idempotence_residual",
    "oblique_projection",
    "project_out",
    "rank_one_projection",
    "reflection_matrix",
    "spectrum_residual",
    "symmetry_residual",
]


# --- building the operators -----------------------------------------------------------


def _direction(u: Any, name: str = "u") -> tuple[Any, Any]:
    """Namespace and ``u / max|u|``: scaled so that ``u . u`` can neither overflow nor underflow."""
    xp = check_finite_floating(u, name)
    if u.ndim != 1:
        raise ValueError(f"{name} must be a 1-d direction vector, got shape {tuple(u.shape)}")
    if u.shape[0] == 0:
        raise ValueError(f"{name} must have at least one entry, got shape {tuple(u.shape)}")
    peak = xp.max(xp.abs(u))
    if not bool(peak > 0):
        raise ValueError(f"{name} must be nonzero: the zero vector has no direction to project out")
    return xp, u / peak


def _identity_minus(v: Any, factor: float) -> Any:
    """:math:`I - \\mathrm{factor}\\; v v^\\top / (v^\\top v)`, symmetric bit for bit."""
    xp = array_namespace(v)
    M = v.shape[0]
    # v_i v_j == v_j v_i exactly and factor is 1 or 2 (exact), so the result is exactly symmetric.
    outer = factor * (v[:, None] * v[None, :])
    return xp.eye(M, dtype=v.dtype) - outer / xp.sum(v * v)


def rank_one_projection(u: Any) -> Any:
    r"""The orthogonal projection :math:`P_u = I - u u^\top / \|u\|^2` onto :math:`u^\perp`.

    Parameters
    ----------
    u : array, shape (M,)
        A nonzero, finite, real floating direction; it need not have unit
        length. Its namespace and dtype are those of the result.

    Returns
    -------
    array, shape (M, M)
        :math:`P_u`, exactly symmetric in floating point.

    Raises
    ------
    TypeError
        If `u` is not a real floating array.
    ValueError
        If `u` is not 1-d, is empty, is zero, or has NaN or Inf.

    Notes
    -----
    :math:`P_u` depends only on the direction of :math:`u`, so :math:`u` is
    first divided by :math:`\max_i |u_i|`; this keeps :math:`u^\top u` clear of
    overflow and underflow for every finite :math:`u`. GC's
    :math:`P = I - e e^\top` is ``rank_one_projection(ones(M))``; Weight
    Normalization's :math:`M_w = I - w w^\top/\|w\|^2` is
    ``rank_one_projection(w)``. To apply :math:`P_u` to many vectors, use
    :func:`project_out`, which costs :math:`O(M)` memory instead of
    :math:`O(M^2)`.

    Each computed entry differs from the exact one by at most

    .. math::

        E_{ij} = \frac{\gamma_{2M+8}\,|I - P_u|_{ij} + u\,|P_u|_{ij}}{1 - \gamma_{2M+8} - u}:

    the scaled :math:`v = u/\max|u|` carries one rounding per entry, the
    product :math:`v_i v_j` and the quotient one each, and :math:`v^\top v`
    a relative :math:`\gamma_{M+2}`, whose reciprocal is within
    :math:`\gamma_{2M+4}` [3]_ (Lemma 3.1); the subtraction from :math:`I`
    rounds once more. The residuals below use this bound.
    """
    _, v = _direction(u)
    return _identity_minus(v, 1.0)


def project_out(x: Any, u: Any, axis: int = -1) -> Any:
    r""":math:`x - u\,(u^\top x)/\|u\|^2` along `axis`, without forming :math:`P_u`.

    Parameters
    ----------
    x : array
        Real floating array of the namespace and dtype of `u`; its length
        along `axis` is M.
    u : array, shape (M,)
        Nonzero finite direction (any length).
    axis : int, default -1
        The axis of `x` that holds the vectors to project.

    Returns
    -------
    array
        Same shape, namespace and dtype as `x`: every vector along `axis`
        with its component along :math:`u` removed.

    Notes
    -----
    Equal to ``P_u @ x`` along `axis` in exact arithmetic, with
    :math:`O(M)` extra memory. With :math:`v = u/\max|u|`,

    .. math:: P_u x = x - v \frac{v^\top x}{v^\top v}.
    """
    xp, v = _direction(u)
    if array_namespace(x) is not xp:
        raise TypeError("x must be an array of the same namespace as u")
    if x.dtype != u.dtype:
        raise TypeError(f"x must have the dtype of u ({u.dtype}), got {x.dtype}")
    ndim = x.ndim
    axis = check_int(axis, "axis", minimum=-ndim, maximum=ndim - 1) % ndim if ndim else check_int(axis, "axis")
    if ndim == 0 or x.shape[axis] != v.shape[0]:
        raise ValueError(f"x must have length {v.shape[0]} along axis {axis}, got shape {tuple(x.shape)}")
    shape = [1] * ndim
    shape[axis] = v.shape[0]
    vb = xp.reshape(v, tuple(shape))
    coefficient = xp.sum(vb * x, axis=axis, keepdims=True) / xp.sum(v * v)
    return x - vb * coefficient


def reflection_matrix(u: Any) -> Any:
    r"""The Householder reflection :math:`R_u = I - 2 u u^\top/\|u\|^2`: a control, not a projection.

    :math:`R_u` is symmetric and orthogonal with :math:`R_u^2 = I \ne R_u`,
    and :math:`R_u u = -u`: it fails idempotence and annihilation by
    :math:`O(1)`.
    """
    _, v = _direction(u)
    return _identity_minus(v, 2.0)


def oblique_projection(u: Any, rng: np.random.Generator, tilt: float = 3.0) -> Any:
    r"""An oblique projection with the kernel of :math:`P_u`: a control for symmetry.

    :math:`Q = I - \hat u c^\top/(c^\top \hat u)` with :math:`\hat u = u/\|u\|`
    and :math:`c = \hat u + \mathrm{tilt}\,v`, :math:`v` a random unit vector
    orthogonal to :math:`u` drawn from `rng`.

    Parameters
    ----------
    u : array, shape (M,), M >= 2
        Nonzero finite direction; the namespace and dtype of the result.
    rng : numpy.random.Generator
        Source of the tilt direction :math:`v`.
    tilt : float, default 3.0
        Positive; :math:`\|Q\|_2 = \sqrt{1 + \mathrm{tilt}^2}`.

    Returns
    -------
    array, shape (M, M)
        :math:`Q`: idempotent, :math:`Q u = 0`, but :math:`Q^\top \ne Q`, so it
        can lengthen vectors.
    """
    xp, v_u = _direction(u)
    tilt = check_positive(tilt, "tilt")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    M = v_u.shape[0]
    if M < 2:
        raise ValueError(f"u must have M >= 2 entries for an oblique projection (M = 1 has no u-perp), got M={M}")
    unit = v_u / xp.linalg.vector_norm(v_u)
    # Redraw in the (probability-zero) event that the draw is parallel to u.
    while True:
        w = xp.asarray(rng.standard_normal(M), dtype=u.dtype)
        w = w - unit * xp.sum(unit * w)
        norm = float(xp.linalg.vector_norm(w))
        if norm > 1e-3:
            break
    c = unit + (tilt / norm) * w
    return xp.eye(M, dtype=u.dtype) - (unit[:, None] * c[None, :]) / xp.sum(c * unit)


# --- residuals of the defining properties ---------------------------------------------


def _max(x: Any) -> float:
    xp = array_namespace(x)
    return float(xp.max(x)) if math.prod(x.shape) else 0.0


def _construction_error(P: Any) -> Any:
    """Entrywise bound E on |computed P - exact P|: see :func:`rank_one_projection`, Notes."""
    xp = array_namespace(P)
    M = P.shape[0]
    g = gamma(2 * M + 8, P.dtype)
    u = unit_roundoff(P.dtype)
    rank_one = xp.abs(xp.eye(M, dtype=P.dtype) - P)
    return (g * rank_one + u * xp.abs(P)) / (1.0 - g - u)


def _check_square(P: Any, name: str = "P") -> Any:
    xp = check_floating(P, name)
    if P.ndim != 2 or P.shape[0] != P.shape[1] or P.shape[0] == 0:
        raise ValueError(f"{name} must be a nonempty square matrix, got shape {tuple(P.shape)}")
    return xp


def symmetry_residual(P: Any) -> Measurement:
    r"""max :math:`|P - P^\top|`.

    Notes
    -----
    The exact :math:`P_u` is symmetric; each computed entry is within
    :math:`E_{ij}` of it (:func:`rank_one_projection`, Notes), so
    :math:`|\hat P_{ij} - \hat P_{ji}| \le E_{ij} + E_{ji} \le 2\max E`.
    The tolerance assumes `P` was rounded from an exact rank-one projection
    (by :func:`rank_one_projection` or ``projection_matrix``).
    """
    xp = _check_square(P)
    E = _construction_error(P)
    scale = max(_max(xp.abs(P)), 1e-300)
    residual = _max(xp.abs(P - P.T))
    return Measurement(residual, 2 * _max(E), scale, f"M={P.shape[0]}")


def idempotence_residual(P: Any) -> Measurement:
    r"""max :math:`|fl(P P) - P|`.

    Notes
    -----
    Write :math:`\hat P = P + \Delta` with :math:`|\Delta| \le E`
    (:func:`rank_one_projection`, Notes) and :math:`P^2 = P`. Then

    .. math::

        fl(\hat P\hat P) - \hat P = [fl(\hat P\hat P) - \hat P\hat P]
            + [P\Delta + \Delta P + \Delta\Delta] - \Delta,

    where the first bracket is at most :math:`\gamma_M|\hat P||\hat P|` [3]_
    (Eq. 3.13) and :math:`|P| \le |\hat P| + E`. With one more rounding for the
    subtraction (:math:`u(|\hat P||\hat P|(1+\gamma_M) + |\hat P|)`), the
    tolerance is the maximum entry of

    .. math:: (\gamma_M + 2u)|\hat P||\hat P| + 2|\hat P|E + 3E^2 + E + u|\hat P| .
    """
    xp = _check_square(P)
    M = P.shape[0]
    u = unit_roundoff(P.dtype)
    E = _construction_error(P)
    absP = xp.abs(P)
    square = absP @ absP
    bound = (gamma(M, P.dtype) + 2 * u) * square + 2 * (absP @ E) + 3 * (E @ E) + E + u * absP
    residual = _max(xp.abs(P @ P - P))
    return Measurement(residual, _max(bound), max(_max(square), 1e-300), f"M={M}")


def annihilation_residual(P: Any, u: Any) -> Measurement:
    r"""max(:math:`|\hat u^\top P|`, :math:`|P \hat u|`), :math:`\hat u = u/\|u\|`: P removes exactly u.

    Parameters
    ----------
    P : array, shape (M, M)
        The computed projection.
    u : array, shape (M,)
        The direction it should remove; any nonzero length (it is normalised
        here, so the residual is relative to a unit vector).

    Notes
    -----
    The computed :math:`\hat u` has entrywise relative error within
    :math:`\gamma_{M+3}` (scaling by :math:`\max|u|`, the norm's
    :math:`\gamma_M` and square root, the division). For the exact :math:`P`
    and unit :math:`\bar u`, :math:`P\bar u = 0`, so

    .. math::

        |fl(\hat P\hat u)| \le \gamma_M|\hat P||\hat u| + E|\hat u|(1+\gamma_{M+3})
            + \gamma_{M+3}(|\hat P| + E)|\hat u|,

    bounded by :math:`\gamma_{2M+4}|\hat P||\hat u| + (1+\gamma_{2M+4})E|\hat u|`
    (Higham's :math:`\gamma_a + \gamma_b + \gamma_a\gamma_b \le \gamma_{a+b}`);
    likewise for :math:`\hat u^\top \hat P`.
    """
    xp = _check_square(P)
    _, v = _direction(u)
    M = P.shape[0]
    if v.shape[0] != M:
        raise ValueError(f"u must have length {M} to match P, got {v.shape[0]}")
    if v.dtype != P.dtype:
        raise TypeError(f"u must have the dtype of P ({P.dtype}), got {u.dtype}")
    unit = v / xp.linalg.vector_norm(v)
    g = gamma(2 * M + 4, P.dtype)
    E = _construction_error(P)
    absP, absu = xp.abs(P), xp.abs(unit)
    scale = max(_max(absP @ absu), _max(absu @ absP))
    error_term = max(_max(E @ absu), _max(absu @ E))
    residual = max(_max(xp.abs(P @ unit)), _max(xp.abs(unit @ P)))
    return Measurement(residual, g * scale + (1 + g) * error_term, max(scale, 1e-300), f"M={M}")


def spectrum_residual(P: Any) -> Measurement:
    r"""Distance of eig(P) from {0 once, 1 (M-1 times)}; rank P = M - 1 follows.

    Notes
    -----
    A backward-stable symmetric eigensolver returns eigenvalues within
    :math:`p(M)\,\epsilon\,\|\hat P\|_2` of those of :math:`\hat P` (LAPACK
    Users' Guide, Sec. 4.7, with p(M) taken as M), and
    :math:`\|\hat P - P\|_2 \le \|E\|_F` moves them from the exact ones by at
    most that (Weyl). With :math:`\|\hat P\|_2 \le 1 + \|E\|_F` the tolerance is
    :math:`2Mu(1 + \|E\|_F) + \|E\|_F`. The residual is below 1/2, so counting
    eigenvalues above 1/2 gives the rank. `P` is symmetrised (its lower
    triangle is read) as any symmetric eigensolver does.
    """
    xp = _check_square(P)
    M = P.shape[0]
    eigenvalues = xp.sort(xp.linalg.eigvalsh(P))
    expected = xp.concat([xp.zeros((1,), dtype=P.dtype), xp.ones((M - 1,), dtype=P.dtype)])
    residual = _max(xp.abs(eigenvalues - expected))
    u = unit_roundoff(P.dtype)
    frob = float(xp.linalg.matrix_norm(_construction_error(P)))
    rank = int(xp.sum(xp.astype(eigenvalues > 0.5, xp.int64)))
    return Measurement(residual, 2 * M * u * (1 + frob) + frob, 1.0, f"M={M}, rank={rank}")
