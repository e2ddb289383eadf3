r"""The difference formulas, written once: forward, central, Richardson and the complex step.

Read this first: the whole idea of a gradient check is the central difference

.. math:: \partial_i f(x) \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h},

which :func:`reference_gradient` computes in five lines, as a student would.
Everything else in :mod:`gc_theory.gradcheck` is engineering around it: the
step (:mod:`~gc_theory.gradcheck.error_model`), the cost (batches, any array
namespace) and the verdict (a derived tolerance and a diagnosis).

:func:`finite_difference` is the one implementation of the formulas, shared by
:func:`~gc_theory.gradcheck.numerical_gradient` (one entry of x at a time) and
:func:`~gc_theory.gradcheck.derivative` (elementwise f, all points at once).
It divides by the coordinates actually reached, :math:`\mathrm{fl}(x_i + h_i)
- \mathrm{fl}(x_i - h_i)`, not by 2h, which removes the error of representing
:math:`x_i \pm h_i` (Gill, Murray & Wright, *Practical Optimization*, Sec. 8.6).

.. math::

    D^{\rm fwd} = \frac{f(x^+) - f(x)}{x^+ - x},\qquad
    D^{\rm c}(h) = \frac{f(x^+) - f(x^-)}{x^+ - x^-},\qquad
    R = \frac{4D^{\rm c}(h/2) - D^{\rm c}(h)}{3},\qquad
    D^{\rm cs} = \frac{\operatorname{Im} f(x + \mathrm{i}h)}{h}.

References
----------
.. [1] L. F. Richardson, "The deferred approach to the limit", Phil. Trans. R.
   Soc. A 226 (1927).
.. [2] W. Squire, G. Trapp, "Using complex variables to estimate derivatives of
   real functions", SIAM Review 40 (1998).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gc_theory.core.backend import array_namespace

__all__ = ["complex_step", "finite_difference", "reference_gradient"]


def reference_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """The central-difference gradient of f at x, plainly (NumPy, fixed absolute step h, 2n evaluations)."""
    grad = np.zeros(np.shape(x))
    for i in np.ndindex(grad.shape):
        e = np.zeros(np.shape(x))
        e[i] = h
        grad[i] = (f(x + e) - f(x - e)) / (2 * h)
    return grad


def finite_difference(method: str, at: Callable[[float], tuple[Any, Any]]) -> Any:
    r"""Apply the forward, central or Richardson formula to values supplied by `at`.

    Parameters
    ----------
    method : {'forward', 'central', 'richardson'}
    at : callable
        ``at(c) -> (coordinate, value)``: the coordinate reached by a step of
        c times h (c in 0, +-1, +-1/2) as float64, shape (n,), and f there,
        shape (n,) or (n, *out). The formulas ask for exactly the c they need:
        0 and 1 (forward), 1 and -1 (central), then 1/2 and -1/2 (Richardson).

    Returns
    -------
    array
        The derivative estimates, shaped like the values.
    """
    if method == "forward":
        x0, f0 = at(0.0)
        xp_, fp = at(1.0)
        return (fp - f0) / _rows(xp_ - x0, fp)
    xp_, fp = at(1.0)
    xm, fm = at(-1.0)
    value = (fp - fm) / _rows(xp_ - xm, fp)
    if method == "richardson":
        xp2, fp2 = at(0.5)
        xm2, fm2 = at(-0.5)
        half = (fp2 - fm2) / _rows(xp2 - xm2, fp2)
        # Central differences err by c h^2 + O(h^4): 4 D(h/2) - D(h) cancels the h^2 term.
        value = (4.0 * half - value) / 3.0
    return value


def complex_step(values: Any, h: Any) -> Any:
    r""":math:`\operatorname{Im} f(x + \mathrm{i}h)/h`: no difference of f values, so no cancellation."""
    xp = array_namespace(values)
    return xp.imag(values) / _rows(h, values)


def _rows(d: Any, values: Any) -> Any:
    """Reshape flat (n,) denominators to broadcast against values of shape (n, *out); same-shape ones as they are."""
    if d.ndim >= values.ndim:
        return d
    xp = array_namespace(d)
    return xp.reshape(d, (d.shape[0],) + (1,) * (values.ndim - 1))
