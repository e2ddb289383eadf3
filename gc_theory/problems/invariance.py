r"""The input-shift probe of output invariance: how :math:`y = Wx` responds to :math:`x + \gamma\mathbf 1`, and its rounding bound along a trajectory."""

from __future__ import annotations

from typing import Any

from gc_theory.core.backend import array_namespace
from gc_theory.verify.measurement import Measurement
from gc_theory.verify.tolerances import gamma, unit_roundoff

__all__ = ["invariance_measurement", "shift_response"]


def shift_response(w: Any, x: Any, shift: float) -> Any:
    r"""How the outputs of :math:`y = Wx` move when every input entry is raised by `shift`: :math:`W(x + \gamma\mathbf 1) - Wx`.

    `w` is (out, in), `x` a batch (n, in); the result is (n, out). It vanishes
    exactly when every row of W sums to zero, the state Gradient Centralization
    preserves from a zero-mean initialisation.
    """
    return (x + shift) @ w.T - x @ w.T


def invariance_measurement(
    iterates: list[dict[str, Any]], gradients: list[dict[str, Any]], key: str, probes: Any, shift: float,
    *, lr: float, momentum: float, reference: str = "initial",
) -> Measurement:
    r"""max over t of :math:`|W_t(x + \gamma\mathbf 1) - W_t x - \gamma W_0\mathbf 1|`, each against its rounding bound.

    Parameters
    ----------
    iterates, gradients : list of dict
        From :func:`gc_theory.experiments.training.full_batch_trajectory`.
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
    # The identity holds for the trajectory only if it holds at every t: the case is its worst step.
    return max(worst, key=lambda m: m.ratio)
