r"""The measurement behind claim ``wn.batch_independence``: WN's output for an example ignores the rest of its batch.

:func:`~gc_theory.models.batch_coupling.batch_coupling` redraws every other
example of a batch and reports how far example i's output moved; here that
change is held to a rounding bound derived for a Weight-Normalised Linear
layer, and (control) the same bound is applied to the layer followed by batch
norm, whose batch statistics carry the other examples into row i.
"""

from __future__ import annotations

from typing import Any

from gc_theory.core.backend import array_namespace
from gc_theory.verify.measurement import Measurement
from gc_theory.verify.tolerances import gamma
from gc_theory.weightnorm.reparam import weight_norm

from .batch_coupling import batch_coupling
from .layers import Linear, Sequential
from .normalization import BatchNorm, WeightNorm

__all__ = ["SIZES", "batch_independence_measurements"]

#: (batch, fan-in, units) of the cases.
SIZES = ((2, 3, 2), (8, 6, 4), (64, 100, 30), (256, 512, 16))


def batch_independence_measurements(ctx: Any, control: bool) -> list[Measurement]:
    r"""Per size: :math:`\max_k |y_{ik}(x) - y_{ik}(x')|` for a WN Linear layer (control: followed by batch norm).

    Notes
    -----
    Row i of a WN Linear layer is :math:`y_{ik} = x_i\cdot w_k + b_k` with
    :math:`w = g\,v/\|v\|` computed once from the parameters, so both batches
    use the same computed w. Each computed :math:`y_{ik}` (a dot product of
    length K plus the bias) is within :math:`\gamma_{K+1}(|x_i|\cdot|w_k| +
    |b_k|)` of the exact value for that w (Higham, Sec. 3.1), whatever
    blocking the matrix product uses for the rest of the batch; the two
    computed rows therefore differ by at most
    :math:`2\gamma_{K+1}\max_k(|x_i|\cdot|w_k| + |b_k|)`, the tolerance. Batch
    norm subtracts the batch mean and divides by the batch standard deviation,
    which move by O(1) when the other examples are redrawn, so its change is of
    the order of the output (about :math:`10^{13}` tolerances in float64).
    """
    out = []
    for batch, fan_in, units in SIZES:
        case = ctx.spawn(f"{batch}x{fan_in}->{units}")
        wn = WeightNorm(Linear(fan_in, units))
        p = wn.init(case.rng, ctx.xp, ctx.dtype)
        layer, params = wn, p
        if control:
            # The same WN layer and parameters, then batch norm: the only change is the batch statistics.
            layer = Sequential(wn, BatchNorm(units))
            params = {**{f"0.{k}": v for k, v in p.items()}, **layer.init(case.rng, ctx.xp, ctx.dtype)}
            params.update({f"0.{k}": v for k, v in p.items()})
        x = case.normal(batch, fan_in)
        change, _ = batch_coupling(layer, params, x, case.spawn("others").rng)
        xp = array_namespace(x)
        w = weight_norm(p["v"], p["g"])
        scale = float(xp.max(xp.abs(x[0, :]) @ xp.abs(w).T + xp.abs(p["bias"])))
        tol = 2 * gamma(fan_in + 1, ctx.dtype) * scale
        out.append(Measurement(change, tol, scale, f"batch {batch}, {fan_in} -> {units}"))
    return out

