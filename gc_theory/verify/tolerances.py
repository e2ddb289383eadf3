r"""Tolerances derived from floating-point error bounds.

A claim's tolerance is never a guess: it comes from a rounding-error bound of
the computation being checked, in the notation of Higham [1]_. With unit
roundoff :math:`u = \epsilon/2`,

.. math::

    \gamma_n = \frac{n u}{1 - n u}

bounds the relative error of a sum or inner product of n terms:
:math:`|\mathrm{fl}(x^\top y) - x^\top y| \le \gamma_n |x|^\top |y|`, and
entrywise :math:`|\mathrm{fl}(AB) - AB| \le \gamma_n |A||B|` for an inner
dimension n (Higham, Sec. 3.1 and Sec. 3.5).

References
----------
.. [1] N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed.,
   SIAM, 2002, Ch. 3.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gc_theory.core.backend import dtype_name, finfo_eps

__all__ = ["gamma", "smallest_subnormal", "unit_roundoff"]


def unit_roundoff(dtype: Any) -> float:
    """u = eps/2, the largest relative error of one correctly rounded operation."""
    return finfo_eps(dtype) / 2.0


def gamma(n: float, dtype: Any) -> float:
    r""":math:`\gamma_n = n u/(1 - n u)`; raises if :math:`n u \ge 1` (the bound is void)."""
    nu = n * unit_roundoff(dtype)
    if nu >= 1.0:
        raise ValueError(f"gamma_n is undefined for n={n} in {dtype}: n*u >= 1")
    return nu / (1.0 - nu)


def smallest_subnormal(dtype: Any) -> float:
    """The smallest positive subnormal number: the scale of absolute errors under gradual underflow."""
    return float(np.finfo(dtype_name(dtype)).smallest_subnormal)
