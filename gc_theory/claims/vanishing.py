r"""Claims about vanishing gradients (:mod:`gc_theory.landscape.vanishing`).

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

``vanishing.output.identities``: for the two sigmoid-output loss cases of
:mod:`gc_theory.models.cases` (squared error of :math:`\sigma(z)`, binary
cross-entropy on logits), a central difference of the registered case's value
in each coordinate equals the closed form of :func:`gc_theory.landscape.vanishing.output_gradient`,
:math:`\tfrac2N(\sigma - t)\sigma'` and :math:`\tfrac1N(\sigma - t)`, within the
central difference's error model. Control: each loss against the other's
formula (squared error without :math:`\sigma'`, cross-entropy with it), rescaled
to the same :math:`1/N`.

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

import numpy as np

from gc_theory.core.backend import to_numpy
from gc_theory.models.cases import gradient_cases
from gc_theory.verify.tolerances import gamma, unit_roundoff
from gc_theory.landscape.vanishing import activation_slope, chain, input_gradient, output_gradient, steps_to_leave_saturation
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


#: The registered sigmoid-output loss cases and the closed form each must match.
OUTPUT_CASES = {"loss.sigmoid_mean_squared_error": "mse", "loss.sigmoid_cross_entropy": "ce"}
#: Library exp plus the handful of operations of the closed form, in units of u.
FORMULA_ROUNDING_OPS = 12


def _third_derivative_bound(loss: str, t_max: float) -> float:
    r"""A bound :math:`M_3 \ge |\ell^{(3)}(z)|` for every z, for targets with :math:`|t| \le` `t_max`.

    Cross-entropy: :math:`\ell^{(3)} = \sigma'(1 - 2\sigma)`, at most :math:`1/(6\sqrt3) < 0.1`.
    Squared error: :math:`\ell^{(3)} = 6\sigma'\sigma'' + 2(\sigma - t)\sigma^{(3)}` with
    :math:`\sigma' \le 1/4`, :math:`|\sigma''| \le 1/(6\sqrt3)` and :math:`|\sigma^{(3)}| \le 1/8`,
    so at most :math:`0.15 + (1 + |t|)/4`.
    """
    return 0.1 if loss == "ce" else 0.15 + (1.0 + t_max) / 4.0


@claim(
    "vanishing.output.identities",
    statement="at a sigmoid output dL/dz = (2/N)(sigma(z) - t) sigma'(z) for squared error and (1/N)(sigma(z) - t) "
    "for cross-entropy on logits (central differences of the registered loss cases)",
    source="Glorot & Bengio (2010), Sec. 4.2; Nielsen, Neural Networks and Deep Learning (2015), Ch. 3",
    control="each loss against the other's formula: squared error without sigma', cross-entropy with it",
)
def _identities(ctx: Context, control: bool):
    r"""Central differences of each registered sigmoid-output loss case against its closed form.

    Notes
    -----
    The value is :math:`\frac1N\sum_j \ell(z_j)`, so coordinate j's central
    difference :math:`D_j = (f(z + he_j) - f(z - he_j))/(2h)` has truncation
    error at most :math:`h^2 M_3/(6N)` (:func:`_third_derivative_bound`). Each
    value carries at most the case's own rounding bound :math:`\delta`
    (``rounding_bound`` on the neighbourhood :math:`|z| + 1`, which covers every
    stencil point), giving :math:`\delta/h`; the stencil points round by
    :math:`u(|z_j| + h)`, which moves :math:`D_j` by at most that times
    :math:`\max|\partial f/\partial z_j|/h \le (1 + |t|)/(Nh)`; the closed form
    adds :data:`FORMULA_ROUNDING_OPS` u of its size. h is the power of two
    nearest :math:`(3N\delta/M_3)^{1/3}`, which balances the first two terms.
    The gradient is compared in the max-norm, against the largest of these bounds.
    """
    xp = ctx.xp
    u = unit_roundoff(ctx.dtype)
    cases = {c.name: c for c in gradient_cases(xp, ctx.dtype, int(ctx.rng.integers(2**31)), kinds=["loss"])}
    swapped = {"mse": lambda z, t: 2.0 * output_gradient("ce", z, t), "ce": lambda z, t: 0.5 * output_gradient("mse", z, t)}
    for name, loss in OUTPUT_CASES.items():
        case = cases[name]
        z, t = case.point["input"], case.fixed["targets"]
        n = math.prod(z.shape)
        t_max = float(xp.max(xp.abs(t)))
        m3 = _third_derivative_bound(loss, t_max)
        delta = case.rounding_bound(case.point, {"input": xp.ones_like(z)})
        h = min(2.0 ** round(math.log2((3.0 * n * delta / m3) ** (1.0 / 3.0))), 1.0)
        formula = swapped[loss](z, t) if control else output_gradient(loss, z, t)
        diffs = np.empty(n)
        for j in range(n):
            step = np.zeros(n)
            step[j] = h
            step = xp.reshape(xp.asarray(step, dtype=z.dtype), z.shape)
            diffs[j] = (float(case.value({"input": z + step})) - float(case.value({"input": z - step}))) / (2.0 * h)
        # One measurement per case: the gradient is one vector, compared in the max-norm with the max-norm bound.
        host = to_numpy(formula).ravel()
        z_max = float(xp.max(xp.abs(z)))
        tol = (h * h * m3 / (6.0 * n) + delta / h + u * (z_max + h) * (1.0 + t_max) / (n * h)
               + FORMULA_ROUNDING_OPS * u * float(np.max(np.abs(host))))  # fmt: skip
        yield Measurement(float(np.max(np.abs(diffs - host))), tol, float(np.max(np.abs(host))),
                          f"{name}: {n} coordinates, h = 2^{int(math.log2(h))}")


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
