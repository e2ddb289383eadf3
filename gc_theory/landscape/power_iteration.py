r"""The top Hessian eigenvalue by power iteration on Hessian-vector products.

The smoothness constant of a twice-differentiable loss is the spectral norm of
its Hessian, :math:`L_s = \max_i |\lambda_i(H)|`. Power iteration needs only the
product :math:`v \mapsto Hv`, never H itself:

.. math::

    v_{k+1} = \frac{H v_k}{\lVert H v_k \rVert}, \qquad
    \theta_k = v_k^\top H v_k, \qquad
    r_k = H v_k - \theta_k v_k .

For symmetric H the residual is an error bar on the Rayleigh quotient: some
eigenvalue :math:`\lambda` satisfies :math:`|\theta_k - \lambda| \le \lVert r_k\rVert`
(Parlett, Thm. 4.5.1), so iteration stops once
:math:`\lVert r_k\rVert \le \mathrm{tol}\,|\theta_k|`, and
:func:`top_eigenvalue` hands that bound back with the estimate.

References
----------
.. [1] B. N. Parlett, *The Symmetric Eigenvalue Problem*, SIAM, 1998, Ch. 4.
.. [2] G. H. Golub and C. F. Van Loan, *Matrix Computations*, 4th ed., 2013, Sec. 7.3.1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from gc_theory.core.validation import check_callable, check_finite_floating, check_int, check_positive

__all__ = ["PowerIteration", "largest_eigenvalue", "top_eigenvalue"]


class PowerIteration(NamedTuple):
    """The outcome of :func:`top_eigenvalue`.

    Attributes
    ----------
    eigenvalue : float
        The Rayleigh quotient :math:`\\theta`: the eigenvalue of largest magnitude, with its sign.
    vector : array
        The unit vector it was measured on (the namespace of `v0`).
    error_bound : float
        :math:`\\lVert Hv - \\theta v\\rVert`: some eigenvalue lies within it of `eigenvalue`.
    iterations : int
        Hessian-vector products used after the first.
    converged : bool
        Whether the stopping rule was met within `maxiter`.
    """

    eigenvalue: float
    vector: Any
    error_bound: float
    iterations: int
    converged: bool


def top_eigenvalue(
    hvp: Callable[[Any], Any], v0: Any, *, tol: float = 1e-10, maxiter: int = 1000
) -> PowerIteration:
    r"""Eigenvalue of largest magnitude of a symmetric operator given by its products.

    Parameters
    ----------
    hvp : callable
        ``hvp(v) -> H v`` for a symmetric H, in the namespace of `v0`.
    v0 : array, 1-D
        Starting vector (nonzero; a random one has a component along the top
        eigenvector with probability one).
    tol : float
        Stop when :math:`\lVert Hv - \theta v\rVert \le \mathrm{tol}\,|\theta|`.
    maxiter : int
        At most this many products after the first.

    Returns
    -------
    PowerIteration

    Notes
    -----
    The error of :math:`\theta` shrinks like :math:`(\lambda_2/\lambda_1)^{2k}`,
    the residual like :math:`(\lambda_2/\lambda_1)^{k}`, so a clustered top of
    the spectrum costs many products; `converged` says whether the rule was met.
    The residual bound holds whatever the gap; when the gap
    :math:`\delta` to the rest of the spectrum is known, the sharper
    :math:`\lVert r\rVert^2/\delta` applies (Kato-Temple; Parlett, Ch. 10). When
    :math:`\lambda_{\max}` and :math:`-\lambda_{\max}` are both eigenvalues the
    iterate oscillates and does not converge.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.diag([3.0, 1.0, -2.0])
    >>> round(top_eigenvalue(lambda v: A @ v, np.ones(3)).eigenvalue, 8)
    3.0
    """
    hvp = check_callable(hvp, "hvp")
    xp = check_finite_floating(v0, "v0")
    if v0.ndim != 1:
        raise ValueError(f"v0 must be a 1-D array, got shape {tuple(v0.shape)}")
    tol = check_positive(tol, "tol")
    maxiter = check_int(maxiter, "maxiter", minimum=1)
    # Divide by the largest magnitude before taking the norm: the sum of squares
    # of v0 = 1e200 overflows and of 1e-170 underflows, though both are fine
    # directions.
    peak = float(xp.max(xp.abs(v0)))
    if peak == 0.0:
        raise ValueError("v0 must be nonzero, got the zero vector")
    scaled = v0 / peak
    v = scaled / xp.linalg.vector_norm(scaled)
    hv = _product(hvp, v, 0)
    for k in range(maxiter + 1):
        theta = float(xp.vecdot(v, hv))
        residual = float(xp.linalg.vector_norm(hv - theta * v))
        if residual <= tol * abs(theta) or k == maxiter:
            return PowerIteration(theta, v, residual, k, residual <= tol * abs(theta))
        size = float(xp.linalg.vector_norm(hv))
        if size == 0.0:  # v lies in the null space: H v = 0 is an exact eigenpair
            return PowerIteration(0.0, v, 0.0, k, True)
        v = hv / size
        hv = _product(hvp, v, k + 1)
    raise AssertionError("unreachable")  # pragma: no cover


def largest_eigenvalue(hvp: Callable[[Any], Any], v0: Any, *, tol: float = 1e-10, maxiter: int = 1000) -> float:
    r"""The largest (algebraic) eigenvalue of a symmetric operator given by its products.

    The sharpness of a loss is :math:`\lambda_{\max}(H)`, not the eigenvalue of
    largest magnitude that :func:`top_eigenvalue` finds: away from a minimum
    the most negative eigenvalue can be the larger in magnitude.

    Parameters
    ----------
    hvp, v0, tol, maxiter
        As in :func:`top_eigenvalue`.

    Returns
    -------
    float

    Notes
    -----
    When the first power iteration returns :math:`\lambda_- < 0`, a second one
    runs on :math:`H - \lambda_- I`, whose spectrum
    :math:`[0, \lambda_{\max} - \lambda_-]` makes the wanted end the largest in
    magnitude; it returns :math:`\lambda_{\max} - \lambda_-`.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.diag([1.0, -3.0])
    >>> round(largest_eigenvalue(lambda v: A @ v, np.ones(2)), 8)
    1.0
    """
    first = top_eigenvalue(hvp, v0, tol=tol, maxiter=maxiter)
    if first.eigenvalue >= 0.0:
        return float(first.eigenvalue)
    shift = first.eigenvalue
    shifted = top_eigenvalue(lambda v: hvp(v) - shift * v, v0, tol=tol, maxiter=maxiter)
    return float(shifted.eigenvalue + shift)


def _product(hvp: Callable[[Any], Any], v: Any, k: int) -> Any:
    hv = hvp(v)
    if getattr(hv, "shape", None) != v.shape:
        raise ValueError(f"hvp must return an array of shape {tuple(v.shape)}, got {getattr(hv, 'shape', type(hv).__name__)}")
    check_finite_floating(hv, f"hvp(v) at iteration {k}")
    return hv
