r"""Nonlinear conjugate gradient, returning :class:`scipy.optimize.OptimizeResult`.

From :math:`x_0`, with :math:`g_k = \nabla f(x_k)` and :math:`d_0 = -g_0`,

.. math::

    x_{k+1} = x_k + \alpha_k d_k, \qquad d_{k+1} = -g_{k+1} + \beta_k d_k ,

where :math:`\alpha_k` comes from a line search along :math:`d_k` and, with
:math:`y_k = g_{k+1} - g_k`, the choice of :math:`\beta_k` names the method:

.. math::

    \beta^{FR} = \frac{g_{k+1}^\top g_{k+1}}{g_k^\top g_k}, \quad
    \beta^{PR} = \frac{g_{k+1}^\top y_k}{g_k^\top g_k}, \quad
    \beta^{PR+} = \max(\beta^{PR}, 0), \quad
    \beta^{HS} = \frac{g_{k+1}^\top y_k}{d_k^\top y_k}, \quad
    \beta^{DY} = \frac{g_{k+1}^\top g_{k+1}}{d_k^\top y_k},

and ``"SD"`` (:math:`\beta = 0`) is steepest descent, the baseline every claim
compares against. On a quadratic :math:`\tfrac12 x^\top A x - b^\top x` with the
exact step :math:`\alpha_k = -g_k^\top d_k / d_k^\top A d_k` all five CG
formulas coincide (:math:`g_{k+1}^\top g_k = 0` and :math:`d_k^\top g_{k+1} = 0`),
the directions are A-conjugate, and the minimiser is reached in at most n steps.

NumPy only: the strong Wolfe line search is :func:`scipy.optimize.line_search`.

References
----------
.. [1] J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed., Springer,
   2006, Ch. 5 (Secs. 5.1-5.2).
.. [2] W. W. Hager and H. Zhang, "A survey of nonlinear conjugate gradient
   methods", Pacific J. Optim. 2 (2006) 35-58.
.. [3] M. Al-Baali, "Descent property and global convergence of the
   Fletcher-Reeves method with inexact line search", IMA J. Numer. Anal. 5
   (1985) 121-124.
.. [4] M. J. D. Powell, "Restart procedures for the conjugate gradient method",
   Math. Program. 12 (1977) 241-254.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import OptimizeResult, line_search as _scipy_line_search
from scipy.optimize._linesearch import LineSearchWarning

from gc_theory.core.validation import check_bool, check_callable, check_choice, check_finite_floating, check_int, check_positive, check_real

__all__ = ["BETAS", "LINE_SEARCHES", "POWELL_RESTART", "beta_value", "gradient_orthogonality", "nonlinear_cg", "pairwise_cosines"]

BETAS = ("FR", "PR", "PR+", "HS", "DY", "SD")
LINE_SEARCHES = ("wolfe", "exact")
#: Powell's restart threshold on |g_{k+1}^T g_k| / ||g_{k+1}||^2.
POWELL_RESTART = 0.2


def beta_value(name: str, g_new: np.ndarray, g_old: np.ndarray, d: np.ndarray) -> float:
    """The conjugacy coefficient `name` (see the module docstring) as a float.

    A zero denominator gives 0 (a restart along the steepest descent direction).
    An unknown `name` is a ValueError listing :data:`BETAS`.
    """
    name = check_choice(name, "name", BETAS)
    if name == "SD":
        return 0.0
    y = g_new - g_old
    numerator = float(g_new @ g_new) if name in ("FR", "DY") else float(g_new @ y)
    denominator = float(g_old @ g_old) if name in ("FR", "PR", "PR+") else float(d @ y)
    if denominator == 0.0:
        return 0.0
    beta = numerator / denominator
    return max(beta, 0.0) if name == "PR+" else beta


def nonlinear_cg(
    f: Callable[[np.ndarray], float],
    grad: Callable[[np.ndarray], np.ndarray],
    x0: Any,
    *,
    beta: str = "PR+",
    line_search: str = "wolfe",
    gtol: float | None = None,
    maxiter: int | None = None,
    hvp: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    c1: float = 1e-4,
    c2: float = 0.4,
    restart: bool = True,
    return_all: bool = False,
    tol: float | None = None,
) -> OptimizeResult:
    r"""Minimise `f` by nonlinear conjugate gradient.

    Parameters
    ----------
    f, grad : callable
        ``f(x) -> float`` and ``grad(x) -> ndarray`` of the shape of `x0`.
    x0 : ndarray, 1-D, real floating
        Starting point.
    beta : {"PR+", "PR", "FR", "HS", "DY", "SD"}
        The conjugacy formula (module docstring); ``"SD"`` is steepest descent.
    line_search : {"wolfe", "exact"}
        ``"wolfe"``: :func:`scipy.optimize.line_search` with constants `c1`, `c2`
        (strong Wolfe). ``"exact"``: :math:`\alpha = -g^\top d / d^\top H d`,
        exact for a quadratic; needs `hvp`.
    gtol : float, optional
        Stop when :math:`\lVert g_k\rVert_\infty \le` `gtol` (SciPy's name), 1e-8 by default.
    maxiter : int, optional
        Iteration limit, ``200 * len(x0)`` by default (as SciPy).
    hvp : callable, optional
        ``hvp(x, v) -> H(x) v``, required by ``line_search="exact"``.
    c1, c2 : float
        Strong Wolfe constants, :math:`0 < c_1 < c_2 < 1`. The default
        :math:`c_2 = 0.4` is SciPy's for CG. FR directions are guaranteed to
        descend only for :math:`c_2 < 1/2` (Al-Baali, 1985); DY's for any
        :math:`c_2 < 1` (Dai and Yuan, 1999).
    restart : bool
        Powell's restart test (Powell, 1977): when
        :math:`|g_{k+1}^\top g_k| \ge 0.2\,\lVert g_{k+1}\rVert^2` set :math:`d_{k+1} = -g_{k+1}` (Nocedal and Wright, eq. 5.52). It never
        fires on a quadratic with exact steps, where successive gradients are
        orthogonal; without it FR and DY jam on Rosenbrock with tiny steps.
    return_all : bool
        Also return the iterates ``allvecs``, directions ``alldirs`` and
        gradients ``allgrads`` (lists of arrays, index k for iteration k).
    tol : float, optional
        Former name of `gtol`, still accepted; passing both with different
        values is a ValueError.

    Returns
    -------
    OptimizeResult
        ``x, fun, jac, nit, nfev, njev, success, status, message``, and
        ``nrestart``: how many times :math:`d` was replaced by :math:`-g` (Powell's
        test, a direction that was not one of descent, or a failed line search
        along d), counted so that no restart is silent.
        ``status`` is 0 on convergence, 1 at `maxiter`, 2 when the line search
        fails (the message says at which iteration and why), as in SciPy.

    Raises
    ------
    ValueError
        If f or the gradient is not finite (the message names the iteration),
        if the exact step meets a direction of non-positive curvature (the
        Hessian is not positive definite there), or an argument is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import rosen, rosen_der
    >>> res = nonlinear_cg(rosen, rosen_der, np.array([-1.2, 1.0]), gtol=1e-6)
    >>> res.success, bool(np.allclose(res.x, 1.0, atol=1e-5))
    (True, True)
    """
    f, grad = check_callable(f, "f"), check_callable(grad, "grad")
    check_finite_floating(x0, "x0")
    if np.dtype(x0.dtype).itemsize > 8:
        # SciPy's line search works in float64: computing a longdouble problem there would be a silent change.
        raise TypeError(f"x0 must be float16, float32 or float64 (the line search is float64), got {x0.dtype}")
    x = np.array(x0, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"x0 must be a 1-D array, got shape {x.shape}")
    beta = check_choice(beta, "beta", BETAS)
    line_search = check_choice(line_search, "line_search", LINE_SEARCHES)
    if gtol is not None and tol is not None and gtol != tol:
        raise ValueError(f"gtol and tol name the same tolerance (tol is the former name): got gtol={gtol!r}, tol={tol!r}")
    tol = check_positive(1e-8 if gtol is None and tol is None else (gtol if gtol is not None else tol), "gtol")
    maxiter = 200 * x.size if maxiter is None else check_int(maxiter, "maxiter", minimum=0)
    if line_search == "exact":
        if hvp is None:
            raise ValueError("line_search='exact' needs hvp(x, v), the Hessian-vector product")
        check_callable(hvp, "hvp")
    c1 = check_real(c1, "c1", low=0.0, high=1.0, low_open=True, high_open=True)
    c2 = check_real(c2, "c2", low=c1, high=1.0, low_open=True, high_open=True)
    restart, return_all = check_bool(restart, "restart"), check_bool(return_all, "return_all")

    counts = {"nfev": 0, "njev": 0}

    def fun(z: np.ndarray, k: int, trial: bool = False) -> float:
        counts["nfev"] += 1
        if trial:
            # A trial point may leave f's domain (log of a negative) or overflow (cosh): that is a failed
            # trial, +inf to the line search, which then backtracks, as SciPy's CG does.
            with np.errstate(all="ignore"):
                value = f(z)
        else:
            value = f(z)
        if np.iscomplexobj(value):
            raise TypeError(f"f must return a real number, got {value!r} at iteration {k}")
        value = float(value)
        if not np.isfinite(value):
            if trial:
                return np.inf
            raise ValueError(f"f is not finite ({value}) at iteration {k}")
        return value

    def jac(z: np.ndarray, k: int) -> np.ndarray:
        counts["njev"] += 1
        g = np.asarray(grad(z))
        if np.iscomplexobj(g):
            raise TypeError(f"grad must return a real array, got dtype {g.dtype} at iteration {k}")
        g = g.astype(np.float64, copy=False)
        if g.shape != z.shape:
            raise ValueError(f"grad must return shape {z.shape}, got {g.shape}")
        if not np.all(np.isfinite(g)):
            raise ValueError(f"grad is not finite at iteration {k}")
        return g

    fx, g = fun(x, 0), jac(x, 0)
    d = -g
    # The first trial step of each line search is 2 (f_k - f_{k-1}) / g^T d (Nocedal and Wright,
    # eq. 3.60), as SciPy's CG does; at k = 0 a fictitious previous value puts that step near 1/||g||.
    f_old = fx + float(np.linalg.norm(g)) / 2.0
    history = ([x.copy()], [d.copy()], [g.copy()]) if return_all else None
    status, message, restarts, k = 1, "Maximum number of iterations has been exceeded.", 0, 0
    while k < maxiter:
        if np.max(np.abs(g)) <= tol:
            status, message = 0, "Optimization terminated successfully."
            break
        slope = float(g @ d)
        if slope >= 0.0:  # not a descent direction: restart, and say so in the result
            d, slope, restarts = -g, -float(g @ g), restarts + 1
        if line_search == "exact":
            curvature = float(d @ np.asarray(hvp(x, d)))
            if not curvature > 0.0:
                raise ValueError(
                    f"the Hessian is not positive definite along d at iteration {k} (d^T H d = {curvature:.3g}); "
                    "line_search='exact' needs a positive definite Hessian"
                )
            alpha, f_new, g_new = -slope / curvature, None, None
        else:
            search = functools.partial(_wolfe, lambda z: fun(z, k, trial=True), lambda z: jac(z, k), x, g, fx, f_old, c1, c2)
            alpha, f_new, g_new = search(d)
            if alpha is None and not np.array_equal(d, -g):
                # A conjugate direction the search cannot serve: retry once along -g, counted as a restart.
                d, slope, restarts = -g, -float(g @ g), restarts + 1
                alpha, f_new, g_new = search(d)
            if alpha is None:
                status = 2
                message = (
                    f"Desired error not necessarily achieved due to precision loss: the strong Wolfe line search "
                    f"(c1={c1}, c2={c2}) found no step along d at iteration {k} (f={fx:.6g}, g^T d={slope:.3g})."
                )
                break
        x, f_old = x + alpha * d, fx
        fx = fun(x, k + 1) if f_new is None else float(f_new)
        if not np.isfinite(fx):  # an accepted iterate: the only place a non-finite value is an error
            raise ValueError(f"f is not finite ({fx}) at iteration {k + 1}")
        g_new = jac(x, k + 1) if g_new is None else np.asarray(g_new, dtype=np.float64)
        if restart and beta != "SD" and abs(float(g_new @ g)) >= POWELL_RESTART * float(g_new @ g_new):
            # Successive gradients far from orthogonal: conjugacy is lost, start again from -g.
            d, restarts = -g_new, restarts + 1
        else:
            d = -g_new + beta_value(beta, g_new, g, d) * d
        g, k = g_new, k + 1
        if history is not None:
            for store, item in zip(history, (x, d, g)):
                store.append(item.copy())
    else:
        if np.max(np.abs(g)) <= tol:
            status, message = 0, "Optimization terminated successfully."
    result = OptimizeResult(
        x=x, fun=fx, jac=g, nit=k, nfev=counts["nfev"], njev=counts["njev"],
        status=status, success=status == 0, message=message, nrestart=restarts,
    )  # fmt: skip
    if history is not None:
        result.update(allvecs=history[0], alldirs=history[1], allgrads=history[2])
    return result


def _wolfe(f, grad, x, g, fx, f_old, c1, c2, d):
    """SciPy's strong Wolfe search along d: (alpha, f(x + alpha d), g(x + alpha d)), alpha None on failure."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LineSearchWarning)  # a failure is reported in the result's message
        alpha, _, _, f_new, _, g_new = _scipy_line_search(f, grad, x, d, gfk=g, old_fval=fx, old_old_fval=f_old, c1=c1, c2=c2)
    return alpha, f_new, g_new


def pairwise_cosines(vectors: Any, A: np.ndarray | None = None) -> np.ndarray:
    r"""The matrix of :math:`|v_i^\top M v_j| / (\lVert v_i\rVert_M \lVert v_j\rVert_M)`, zero on the diagonal.

    With M = I (``A=None``) it measures the orthogonality of CG's gradients, with
    M = A the A-conjugacy of its directions; both are 0 off the diagonal in
    exact arithmetic on a quadratic with exact steps.
    """
    v = np.asarray(vectors, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"vectors must be a 2-D array (one vector per row), got shape {v.shape}")
    gram = v @ v.T if A is None else v @ np.asarray(A) @ v.T
    size = np.sqrt(np.abs(np.diag(gram)))
    cos = np.abs(gram) / np.outer(size, size)
    np.fill_diagonal(cos, 0.0)
    return cos


def gradient_orthogonality(gradients: Any) -> list[float]:
    r"""For each iteration k, :math:`\max_{j<k} |g_k^\top g_j| / (\lVert g_k\rVert \lVert g_j\rVert)` (0 at k = 0).

    In exact arithmetic CG's gradients on a quadratic with exact steps are
    mutually orthogonal, so every entry is 0. In floating point each step's
    rounding, of relative size u, is amplified along the directions of the
    converged eigenvalues (Paige's analysis of the Lanczos process, which CG
    is), so the entries grow geometrically with k, sooner the larger the
    condition number: this is how CG loses finite termination.

    Parameters
    ----------
    gradients : array_like, shape (k, n)
        One gradient per row, e.g. ``nonlinear_cg(..., return_all=True).allgrads``.

    Returns
    -------
    list of float

    References
    ----------
    .. [1] C. C. Paige, "Accuracy and effectiveness of the Lanczos algorithm for the
       symmetric eigenproblem", Linear Algebra Appl. 34 (1980) 235-258.
    .. [2] A. Greenbaum, *Iterative Methods for Solving Linear Systems*, SIAM, 1997, Ch. 4.
    """
    cos = pairwise_cosines(gradients)
    return [float(np.max(cos[k, :k])) if k else 0.0 for k in range(cos.shape[0])]
