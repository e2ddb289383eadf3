r"""Regression problems of one layer's weight, for the optimiser and Weight Normalization claims.

``grad(params, t)`` returns a dict of arrays keyed like ``params``, the
optimisers' contract (:func:`gc_theory.optim.record_trajectory`); ``t`` selects a
mini-batch, so the gradients may be stochastic. :class:`LayerLeastSquares` is
least squares of a fully connected weight, with its gradient on a mini-batch
and its exact Hessian product.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from gc_theory.core.validation import check_int
from gc_theory.verify.context import Context

GradFn = Callable[[dict[str, Any], int], dict[str, Any]]

__all__ = ["GradFn", "LayerLeastSquares", "diagonal_quadratic", "init_params", "tanh_regression"]


def tanh_regression(ctx: Context, shapes: Mapping[str, tuple[int, ...]], n: int = 24, batches: int = 3) -> GradFn:
    r"""Mini-batch gradients of :math:`\frac{1}{2n}\|\tanh(X_k W^\top + b) - Y_k\|^2` per weight.

    Each weight of shape ``(out, ...)`` acts on flattened inputs of length M;
    step t uses mini-batch ``t % batches``, so the gradients are stochastic
    and depend nonlinearly on the weights. Targets have a nonzero mean, so
    the gradients do too (GC has work to do). 1-d entries get the gradient of
    a bias added to the first weight's output.

    Parameters
    ----------
    ctx : Context
        Backend, dtype and the random stream the data are drawn from.
    shapes : mapping of str to tuple of int
        The parameter shapes, output axis first.
    n, batches : int
        Mini-batch size and number of mini-batches.

    Returns
    -------
    callable
        ``grad(params, t)``: the optimisers' gradient contract.
    """
    check_int(n, "n", minimum=1)
    check_int(batches, "batches", minimum=1)
    xp = ctx.xp
    data = {}
    for name, s in shapes.items():
        if len(s) >= 2:
            M = math.prod(s[1:])
            X = [ctx.normal(n, M) for _ in range(batches)]
            Y = [ctx.asarray(ctx.rng.standard_normal((n, s[0])) * 0.5 + 0.8) for _ in range(batches)]
            data[name] = (X, Y)

    def grad(params: dict[str, Any], t: int) -> dict[str, Any]:
        out = {}
        for name, w in params.items():
            if w.ndim < 2:
                out[name] = 0.1 * w + 0.3  # a bias: its own simple quadratic pull
                continue
            X, Y = (d[t % batches] for d in data[name])
            W = xp.reshape(w, (w.shape[0], -1))
            Z = xp.tanh(X @ W.T)
            R = (Z - Y) * (1.0 - Z * Z) / n
            out[name] = xp.reshape(R.T @ X, w.shape)
        return out

    return grad


def init_params(ctx: Context, shapes: Mapping[str, tuple[int, ...]], scale: float = 0.5) -> dict[str, Any]:
    """Weights with a nonzero mean per unit, so decay terms pull the sum around."""
    return {k: ctx.asarray(scale * ctx.rng.standard_normal(s) + 0.2) for k, s in shapes.items()}


def diagonal_quadratic(ctx: Context, shape: tuple[int, ...]) -> tuple[np.ndarray, Any, Any, GradFn]:
    r"""A separable quadratic :math:`L(w) = \frac12 \sum_i h_i (w_i - c_i)^2`, curvatures in [0.5, 2].

    Returns
    -------
    h_host : numpy.ndarray
        The curvatures on the host (for propagation matrices computed in float64).
    h, c : array
        Curvatures and minimiser on ``ctx``'s backend.
    grad : callable
        ``grad(params, t) = {"w": h * (params["w"] - c)}``, deterministic in t.
    """
    h_host = ctx.rng.uniform(0.5, 2.0, shape)
    h, c = ctx.asarray(h_host), ctx.asarray(ctx.rng.standard_normal(shape))
    return h_host, h, c, lambda p, t: {"w": h * (p["w"] - c)}


class LayerLeastSquares:
    r""":math:`L(W) = \frac{1}{2n}\|X W^\top - Y\|^2` for a fully connected weight ``(out, inp)``: gradient and Hessian product.

    The data are drawn from `ctx` (normal, on its backend and dtype); ``grad(w, rows)``
    is the gradient on the examples `rows` (a mini-batch), ``hvp(dw)`` the exact
    Hessian product on the whole batch. The Weight Normalization claims train
    and differentiate through it.
    """

    def __init__(self, ctx: Context, out: int, inp: int, batch: int) -> None:
        self.x = ctx.normal(batch, inp)
        self.y = ctx.normal(batch, out)

    def grad(self, w: Any, rows: slice = slice(None)) -> Any:
        x, y = self.x[rows, :], self.y[rows, :]
        return (x @ w.T - y).T @ x / x.shape[0]

    def hvp(self, dw: Any) -> Any:
        return (self.x @ dw.T).T @ self.x / self.x.shape[0]
