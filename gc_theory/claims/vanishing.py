r"""Claims about vanishing gradients (:mod:`gc_theory.vanishing`).

``vanishing.slopes``: :math:`\sigma' \le 1/4`, :math:`\tanh' \le 1` and
:math:`\mathrm{ReLU}' \in \{0, 1\}` on a dense grid of [-40, 40], computed by the
layers' own backward passes; the tolerance is the rounding of
:math:`y(1-y)` or :math:`1 - y^2` (a few units of u). Control: tanh's slope held
to the sigmoid's bound 1/4 (it reaches 1 at 0).

``vanishing.sigmoid_chain.bound``: through sigmoid chains of depth 1 to 20 the
input gradient never exceeds :math:`\prod_k\lVert W_k\rVert_2/4^d` times the
upstream gradient, up to the rounding of d backward layers and of the spectral
norms (:math:`\gamma_{d(2w+4)}` relative). Controls: ReLU with He
initialisation and tanh in its linear regime (small weights), whose slopes are
near 1, not 1/4, at depths 5 to 20: they break the bound.

``vanishing.output.saturation``: a sigmoid unit saturated on the wrong answer
(:math:`z_0 \in \{-6, -9, -12\}`, target 1) trained with cross-entropy leaves
saturation within :math:`\lceil 2|z_0|/\eta\rceil` steps. Control: squared
error on the same unit, which needs at least :math:`(e^{|z_0|}-1)/\eta` steps.

References
----------
.. [1] Y. Bengio, P. Simard and P. Frasconi, IEEE Trans. Neural Netw. 5 (1994) 157-166.
.. [2] X. Glorot and Y. Bengio, AISTATS 2010, Sec. 4.
"""

from __future__ import annotations

import math

from ..tolerances import gamma
from ..vanishing import activation_slope, chain, input_gradient, steps_to_leave_saturation
from . import Context, Measurement, claim

#: Elementwise slope rounding: libm's exp/tanh (a few ulps), then one or two operations.
SLOPE_ROUNDING_OPS = 8
GRID = 200_001
WIDTH = 16


@claim(
    "vanishing.slopes",
    statement="sigmoid' <= 1/4 (= 1/4 at 0), tanh' <= 1, ReLU' in {0, 1} on a dense grid of [-40, 40]",
    source="Bengio, Simard & Frasconi (1994); Glorot & Bengio (2010)",
    control="tanh' held to the sigmoid's bound 1/4",
)
def _slopes(ctx: Context, control: bool):
    xp = ctx.xp
    z = xp.linspace(-40.0, 40.0, GRID, dtype=ctx.dtype)  # an odd count puts 0 on the grid
    tol = gamma(SLOPE_ROUNDING_OPS, ctx.dtype)
    cases = [("tanh", 0.25)] if control else [("sigmoid", 0.25), ("tanh", 1.0)]
    for name, bound in cases:
        slope = activation_slope(name, z)
        excess = max(float(xp.max(slope)) - bound, 0.0)
        yield Measurement(excess, tol * bound, bound, f"{name}' <= {bound}, max {float(xp.max(slope)):.17g}")
    if not control:
        at_zero = float(activation_slope("sigmoid", xp.zeros(1, dtype=ctx.dtype))[0])
        yield Measurement(abs(at_zero - 0.25), tol * 0.25, 0.25, "sigmoid'(0) = 1/4")
        relu = activation_slope("relu", z)
        off = float(xp.max(xp.minimum(xp.abs(relu), xp.abs(relu - 1.0))))
        yield Measurement(off, tol, 1.0, "ReLU' in {0, 1}")


@claim(
    "vanishing.sigmoid_chain.bound",
    statement="through a depth-d sigmoid chain ||dL/dx|| <= prod_k ||W_k||_2 / 4^d ||dL/dh_d||, d = 1..20",
    source="Bengio, Simard & Frasconi (1994); Glorot & Bengio (2010), Sec. 4",
    control="ReLU with He initialisation and tanh with small weights, depths 5-20",
)
def _chain(ctx: Context, control: bool):
    cases = [("relu", "he"), ("tanh", "small")] if control else [("sigmoid", "default")]
    depths = (5, 10, 15, 20) if control else tuple(range(1, 21))
    for activation, init in cases:
        for depth in depths:
            case = ctx.spawn(f"{activation} depth {depth}")
            net, params = chain(activation, depth, WIDTH, case.rng, init=init, xp=ctx.xp, dtype=ctx.dtype_name)
            g = input_gradient(net, params, case.normal(1, WIDTH), case.normal(1, WIDTH))
            bound = g.output_norm * g.weight_norm_product / 4.0**depth
            rate = (g.input_norm / g.output_norm) ** (1.0 / depth)
            yield Measurement(max(g.input_norm - bound, 0.0), gamma(depth * (2 * WIDTH + 4), ctx.dtype) * bound, bound,
                              f"{activation}, depth {depth}: ||dx||/||dh|| = {g.input_norm / g.output_norm:.3g}, "
                              f"decay {rate:.3f} per layer")  # fmt: skip


@claim(
    "vanishing.output.saturation",
    statement="a sigmoid unit saturated on the wrong answer (z0 = -6, -9, -12) leaves saturation within "
    "2|z0|/eta steps under cross-entropy",
    source="Glorot & Bengio (2010), Sec. 4.2; Nielsen, Neural Networks and Deep Learning (2015), Ch. 3",
    control="squared error on the same unit (at least (e^|z0| - 1)/eta steps)",
)
def _saturation(ctx: Context, control: bool):
    eta = 1.0
    for z0 in (-6.0, -9.0, -12.0):
        steps = steps_to_leave_saturation("mse" if control else "ce", z0, eta)
        # A step count against a derived count: no rounding scale.
        yield Measurement(float(steps), float(math.ceil(2.0 * abs(z0) / eta)), None, f"z0 = {z0:g}: {steps} steps")
