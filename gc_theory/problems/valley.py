r"""The valley of Understanding Deep Learning's notebook 9.2 (NumPy, host only).

:math:`L(\phi) = 1 - \exp(-\phi_1^2 / (2\sigma^2))` with
:math:`\sigma = \exp(-2\phi_0^2)`: a valley along :math:`\phi_1 = 0` that is
narrow for large :math:`|\phi_0|` and wide near :math:`\phi_0 = 0`, so that the
implicit penalty on :math:`\|\nabla L\|^2` pulls large-step descent to the wide part.

References
----------
.. [1] S. J. D. Prince, *Understanding Deep Learning*, MIT Press 2023, Ch. 9, notebook 9.2.
"""

from __future__ import annotations

import numpy as np

from gc_theory.igr import explicit_regularization, gradient_descent, modified_loss

__all__ = ["VALLEY_START", "VALLEY_STEP", "VALLEY_TIME", "Valley", "valley_runs"]


#: The valley run: start, the large step, the small step (h/8) and the time covered.
VALLEY_START = (0.8, 0.5)
VALLEY_STEP = 0.1
VALLEY_TIME = 30.0


class Valley:
    r""":math:`L = 1 - e^{-z}`, :math:`z = \tfrac12\phi_1^2 e^{4\phi_0^2}`.

    Notes
    -----
    With :math:`E = e^{4\phi_0^2}`: :math:`\nabla z = (4\phi_0\phi_1^2E,\ \phi_1E)`,
    :math:`\nabla^2 z = E\begin{pmatrix}(4 + 32\phi_0^2)\phi_1^2 & 8\phi_0\phi_1\\ 8\phi_0\phi_1 & 1\end{pmatrix}`,
    and for :math:`L = 1 - e^{-z}`

    .. math::

        \nabla L = e^{-z}\nabla z,\quad
        \nabla^2 L = e^{-z}(\nabla^2 z - \nabla z\nabla z^\top),\quad
        \nabla^3 L = e^{-z}(\nabla^3 z - 3\,\mathrm{sym}(\nabla^2 z\otimes\nabla z) + \nabla z^{\otimes 3}).
    """

    dim = 2

    def _derivatives(self, phi: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        p0, p1 = float(phi[0]), float(phi[1])
        e = np.exp(4.0 * p0 * p0)
        z = 0.5 * p1 * p1 * e
        dz = np.array([4.0 * p0 * p1 * p1 * e, p1 * e])
        h = e * np.array([[(4.0 + 32.0 * p0 * p0) * p1 * p1, 8.0 * p0 * p1], [8.0 * p0 * p1, 1.0]])
        t = np.zeros((2, 2, 2))
        t[0, 0, 0] = e * p1 * p1 * (96.0 * p0 + 256.0 * p0**3)
        t[0, 0, 1] = t[0, 1, 0] = t[1, 0, 0] = e * p1 * (8.0 + 64.0 * p0 * p0)
        t[0, 1, 1] = t[1, 0, 1] = t[1, 1, 0] = e * 8.0 * p0
        return z, dz, h, t

    def value(self, phi: np.ndarray) -> float:
        # -expm1(-z), not 1 - exp(-z): near the valley floor z is tiny and the difference would cancel.
        return float(-np.expm1(-self._derivatives(phi)[0]))

    def grad(self, phi: np.ndarray) -> np.ndarray:
        z, dz, _, _ = self._derivatives(phi)
        return np.exp(-z) * dz

    def hessian(self, phi: np.ndarray) -> np.ndarray:
        z, dz, h, _ = self._derivatives(phi)
        return np.exp(-z) * (h - np.outer(dz, dz))

    def hvp(self, phi: np.ndarray, v: np.ndarray) -> np.ndarray:
        return self.hessian(phi) @ v

    def third(self, phi: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        z, dz, h, t = self._derivatives(phi)
        sym = (np.einsum("ij,k->ijk", h, dz) + np.einsum("ik,j->ijk", h, dz) + np.einsum("jk,i->ijk", h, dz))
        full = t - sym + np.einsum("i,j,k->ijk", dz, dz, dz)
        return np.exp(-z) * np.einsum("ijk,j,k->i", full, u, v)

    def sharpness(self, phi: np.ndarray) -> float:
        return float(np.linalg.eigvalsh(self.hessian(phi))[-1])


def valley_runs(start=VALLEY_START, h=VALLEY_STEP, T=VALLEY_TIME):
    """Four descents on the valley over time T, as iterate arrays: GD at step h; GD at h/8 on L;
    GD at h/8 on the modified loss L + (h/4)||grad L||^2; GD at h/4 on L + (3h/16)||grad L||^2 (EGR)."""
    problem = Valley()
    theta0 = np.asarray(start, dtype=np.float64)
    n = int(round(T / h))
    return problem, {
        f"GD, $h = {h:g}$": gradient_descent(problem, theta0, h, n),
        f"GD, $h = {h / 8:g}$": gradient_descent(problem, theta0, h / 8, 8 * n),
        rf"GD, $h = {h / 8:g}$, on $L + \frac{{{h:g}}}{{4}}\|\nabla L\|^2$": gradient_descent(
            modified_loss(problem, h), theta0, h / 8, 8 * n),
        rf"GD, $h = {h / 4:g}$, on $L + \frac{{3\cdot{h:g}}}{{16}}\|\nabla L\|^2$ (EGR)": gradient_descent(
            explicit_regularization(problem, 3 * h / 16), theta0, h / 4, 4 * n),
    }
