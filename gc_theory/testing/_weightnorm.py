r"""Assertions for a user's Weight Normalization: the forward :math:`w = g\,v/\|v\|` and its backward through :math:`M_w`.

:func:`assert_weight_norm` draws weights in the layout of `axis` (fully
connected and conv, float64 and float32, magnitudes over six decades, lengths
g of both signs) and measures the user's forward and backward against the
exact values computed in float64 from the same inputs, with the tolerances of
:mod:`gc_theory.claims.wn` (Higham's :math:`\gamma_n`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gc_theory.core.backend import DTYPES
from gc_theory.core.validation import check_callable, check_choice, check_positive_int, check_seed
from gc_theory.gc.layouts import reduction_axes
from gc_theory.verify.measurement import Measurement
from gc_theory.verify.tolerances import gamma

from ._common import call, check_result, check_slack, check_unmodified, close, host, namespace, require, snapshot

__all__ = ["assert_weight_norm"]

_WHO = "assert_weight_norm"
#: The factor a drawn v is rescaled by in the scale-invariance checks: not a power of two, so c v is rounded.
_C = 7.5


def _shape(rng: np.random.Generator, layout: str) -> tuple[int, ...]:
    """An output-axis-first shape whose units have at least two entries (M = 1 makes M_w the zero map)."""
    if layout == "fc":
        return (int(rng.integers(1, 7)), int(rng.integers(2, 13)))
    return (int(rng.integers(1, 5)), int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(2, 4)))


def _cases(examples: int, layouts: Sequence[str], dtypes: Sequence[str], axis: int, seed: int):
    """Host (v, g, grad_w) in the stored layout of `axis`, rounded to the dtype, with their magnitudes."""
    rng = np.random.default_rng(seed)
    for i in range(examples):
        layout, dtype = layouts[i % len(layouts)], dtypes[(i // len(layouts)) % len(dtypes)]
        shape = _shape(rng, layout)
        scale_v, scale_g = 10.0 ** int(rng.integers(-3, 4)), 10.0 ** int(rng.integers(-2, 3))
        v = np.moveaxis(rng.standard_normal(shape) * scale_v, 0, axis).astype(dtype)
        # Lengths of both signs, bounded away from zero: a negative g flips its unit.
        g = (rng.uniform(0.5, 2.0, shape[0]) * rng.choice([-1.0, 1.0], shape[0]) * scale_g).astype(dtype)
        grad_w = np.moveaxis(rng.standard_normal(shape) * 10.0 ** int(rng.integers(-2, 3)), 0, axis).astype(dtype)
        yield layout, dtype, v, g, grad_w, f"|v| ~ {scale_v:g}, |g| ~ {scale_g:g}"


class _Exact:
    """The exact forward and backward of one case, in float64 from the (rounded) inputs, and their error scales."""

    def __init__(self, v: np.ndarray, g: np.ndarray, grad_w: np.ndarray, axis: int):
        self.axes = reduction_axes(v.shape, axis)
        kept = axis % v.ndim
        shape = [1] * v.ndim
        shape[kept] = v.shape[kept]
        self.M = math.prod(v.shape[a] for a in self.axes)
        V, G = v.astype(np.float64), grad_w.astype(np.float64)
        self.V, self.G, self.g = V, G, g.astype(np.float64).reshape(shape)
        self.n = np.sqrt(np.sum(V * V, axis=self.axes, keepdims=True))
        self.u = V / self.n
        self.w = self.g * self.u
        self.dot = np.sum(self.u * G, axis=self.axes, keepdims=True)  # u . grad_w, per unit
        self.grad_g = self.dot.reshape(-1)
        self.grad_v = (self.g / self.n) * (G - self.u * self.dot)
        # s_i = (|g|/||v||)(|G| + |u| |u|^T|G|): what every entry of grad_v is rounded relative to.
        self.s = np.abs(self.g / self.n) * (np.abs(G) + np.abs(self.u) * np.sum(np.abs(self.u * G), axis=self.axes,
                                                                                  keepdims=True))
        self.s_g = np.sum(np.abs(self.u * G), axis=self.axes).reshape(-1)

    def per_unit(self, x: np.ndarray) -> np.ndarray:
        """max over each unit's entries of |x|, one value per unit."""
        return np.max(np.abs(x), axis=self.axes).reshape(-1)


def _forward_mistakes(ex: _Exact, axis: int) -> list[tuple[str, np.ndarray]]:
    kept = axis % ex.V.ndim
    return [("w is v/||v||: the length g is missing", ex.u),
            ("w is g v: v is not divided by its norm", ex.g * ex.V),
            ("the norm is taken over the whole tensor instead of per output unit", ex.g * ex.V / np.sqrt(np.sum(ex.V**2))),
            (f"the norm is taken over axis {kept}, the output-unit axis, instead of over the others (wrong axis)",
             ex.g * ex.V / np.sqrt(np.sum(ex.V**2, axis=kept, keepdims=True))),
            ("w is |g| v/||v||: the sign of g is dropped", np.abs(ex.g) * ex.u)]  # fmt: skip


def _backward_mistakes(ex: _Exact) -> list[tuple[str, np.ndarray]]:
    factor = ex.g / ex.n
    projected = ex.G - ex.u * ex.dot
    mean = ex.G.mean(axis=ex.axes, keepdims=True)
    return [("grad_v is (g/||v||) grad_w: the projection M_w = I - w w^T/||w||^2 is missing", factor * ex.G),
            ("grad_v is M_w grad_w: the factor g/||v|| is missing", projected),
            ("grad_v is g M_w grad_w: it is not divided by ||v||", ex.g * projected),
            ("grad_v uses |g| (or ||w||) where the formula has g: wrong sign for units with negative g",
             np.abs(factor) * projected),
            ("grad_v removes the mean of grad_w (Gradient Centralization) instead of its component along w",
             factor * (ex.G - mean)),
            ("grad_v is (g/||v||^2) M_w grad_w: divided by ||v|| twice", factor / ex.n * projected)]  # fmt: skip


def _diagnose(got: np.ndarray, mistakes: list[tuple[str, np.ndarray]], tol: float) -> str | None:
    for text, wrong in mistakes:
        if close(got, wrong, tol):
            return text
    return None


def _measure(who_what: str, got: np.ndarray, exact: np.ndarray, scale: np.ndarray, tol: float, case: str,
             dtype: str, diagnosis: Callable[[], str | None] | None, label: str) -> Measurement:  # fmt: skip
    """max |got - exact|/scale against `tol` (a relative bound), naming the worst entry."""
    ratio = np.abs(got - exact) / scale
    worst = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
    m = Measurement(float(ratio[worst]), tol, 1.0, case)
    where = f"{label} {tuple(int(k) for k in worst)}: got {got[worst]:.6g}, exact {exact[worst]:.6g}"
    return require(_WHO, who_what, m, dtype, case, diagnosis, where=where)


def _pair(out: Any, case: str) -> tuple[Any, Any]:
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise AssertionError(f"{_WHO}: backward returned {type(out).__name__}, expected a pair (grad_v, grad_g)\n"
                             f"  case: {case}")  # fmt: skip
    return out[0], out[1]


def assert_weight_norm(forward: Callable[[Any, Any], Any] | None, backward: Callable[[Any, Any, Any], Any] | None = None,
                       *, axis: int = 0, examples: int = 24, layouts: Sequence[str] = ("fc", "conv"),
                       dtypes: Sequence[str] = DTYPES, xp: Any = None, seed: int = 0, slack: float = 1.0) -> Measurement:  # fmt: skip
    r"""Assert that `forward` is :math:`w = g\,v/\|v\|` and `backward` its gradients through :math:`M_w`.

    For each of `examples` drawn cases (fully connected ``(out, in)`` and conv
    ``(out, in, kh, kw)`` shapes stored with the output unit on `axis`, v over
    six decades of magnitude, lengths g of both signs) it checks:

    * ``forward(v, g)``: namespace, shape, dtype, finite, inputs unmodified;
      agreement with the exact w; :math:`\|w_j\| = |g_j|`; scale invariance
      ``forward(c v, g) = forward(v, g)``;
    * ``backward(v, g, grad_w) -> (grad_v, grad_g)``: the same checks of its
      outputs; :math:`v_j \cdot \nabla_{v_j} L = 0` for every unit (the
      theorem a missing projection breaks); agreement with the exact
      :math:`\nabla_v L = (g/\|v\|) M_w \nabla_w L` and
      :math:`\nabla_g L = \nabla_w L \cdot v/\|v\|`; and the scale law
      :math:`\nabla_v L(c v) = \nabla_v L(v)/c`.

    Parameters
    ----------
    forward : callable or None
        ``forward(v, g) -> w``, g of shape ``(v.shape[axis],)``. None checks
        only `backward`.
    backward : callable, optional
        ``backward(v, g, grad_w) -> (grad_v, grad_g)``. None checks only `forward`.
    axis : int, default 0
        The output-unit axis of the layout (0 for PyTorch's ``(out, in, ...)``,
        -1 for a Keras kernel ``(..., in, out)``).
    examples : int, default 24
        Number of drawn cases.
    layouts : sequence of {"fc", "conv"}
    dtypes : sequence of {"float64", "float32"}
    xp : module, optional
        The namespace the implementation works in (``torch``...); default NumPy.
    seed : int
        Seeds the drawn cases.
    slack : float, default 1
        Multiplies every tolerance.

    Returns
    -------
    Measurement
        The worst agreement with the exact values, relative to each entry's error scale.

    Raises
    ------
    AssertionError
        The implementation is wrong: the message names the case, the property,
        the worst entry, the measured and allowed values (also in eps) and,
        where it matches a known mistake, the mistake (the projection missing,
        g's gradient not normalised, the wrong axis, the sign of g dropped...).
    TypeError, ValueError
        A bad argument of the assertion itself.

    Notes
    -----
    The exact values are computed in float64 from the inputs as rounded to the
    dtype, so only the implementation's own rounding is measured. Following
    the derivations of ``wn.weight.norm`` and ``wn.grad_v.projection``
    (:mod:`gc_theory.claims.wn`): each entry of a computed w is within
    :math:`\gamma_{M+6}|g_j|` of the exact one for units of M entries (norm,
    division, product), and :math:`|\|w_j\| - |g_j|| \le \gamma_{2M+8}|g_j|`;
    each entry of :math:`\nabla_v L` is within :math:`\gamma_{2M+10}s_i`, with
    :math:`s = (|g|/\|v\|)(|G| + |u|\,|u|^\top|G|)`, :math:`u = v/\|v\|`,
    :math:`G = \nabla_w L`, and :math:`\nabla_g L` within
    :math:`\gamma_{2M+8}|u|^\top|G|`. The orthogonality residual
    :math:`|u \cdot \nabla_v L|` is then at most :math:`\gamma_{2M+10}|u|^\top s`.
    Rounding :math:`c v` moves each entry by u relative: the scale checks allow
    twice the bound plus :math:`\gamma_{M+1}`. Each tolerance adds the same
    bound in float64 for the reference. These bounds hold for any summation
    order; an implementation that accumulates in lower precision than its
    inputs (float16 sums) needs `slack`.

    Examples
    --------
    >>> import numpy as np
    >>> from gc_theory.testing import assert_weight_norm
    >>> def forward(v, g):
    ...     return g[:, None] * v / np.linalg.norm(v, axis=1, keepdims=True)
    >>> def backward(v, g, G):
    ...     n = np.linalg.norm(v, axis=1, keepdims=True)
    ...     grad_g = np.sum(G * v, axis=1) / n[:, 0]
    ...     return g[:, None] / n * (G - grad_g[:, None] * v / n), grad_g
    >>> assert_weight_norm(forward, backward, layouts=["fc"]).passed
    True
    >>> assert_weight_norm(forward, lambda v, g, G: (g[:, None] / np.linalg.norm(v, axis=1, keepdims=True) * G,
    ...                                              np.sum(G * v, axis=1) / np.linalg.norm(v, axis=1)), layouts=["fc"])
    Traceback (most recent call last):
    ...
    AssertionError: assert_weight_norm: v . grad_v = 0 per unit fails
    ...
      diagnosis: grad_v is (g/||v||) grad_w: the projection M_w = I - w w^T/||w||^2 is missing
    """
    if forward is None and backward is None:
        raise ValueError("give forward, backward or both: there is nothing to check")
    forward = None if forward is None else check_callable(forward, "forward")
    backward = None if backward is None else check_callable(backward, "backward")
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise TypeError(f"axis must be an int naming the kept output-unit axis, got {type(axis).__name__} {axis!r}")
    if axis not in (0, 1, -1, -2):
        raise ValueError(f"axis must be 0, 1, -1 or -2 (an axis of both a 2-d and a 4-d weight), got {axis}")
    examples = check_positive_int(examples, "examples")
    layouts = [check_choice(x, "layouts", ("fc", "conv")) for x in layouts]
    dtypes = [check_choice(x, "dtypes", DTYPES) for x in dtypes]
    if not layouts or not dtypes:
        raise ValueError("layouts and dtypes must name at least one entry each")
    seed, slack, xp = check_seed(seed), check_slack(slack), namespace(xp)
    results = []
    for i, (layout, dtype, v_h, g_h, G_h, mags) in enumerate(_cases(examples, layouts, dtypes, axis, seed)):
        case = f"#{i} {layout} v of shape {v_h.shape}, {dtype}, axis={axis}, {mags}"
        ex = _Exact(v_h, g_h, G_h, axis)
        M = ex.M
        v, g, G = host(xp, v_h, dtype), host(xp, g_h, dtype), host(xp, G_h, dtype)
        before = [snapshot(a) for a in (v, g, G)]
        unit_g = np.broadcast_to(np.abs(ex.g), v_h.shape)
        if forward is not None:
            tol_w = (gamma(M + 6, dtype) + gamma(M + 6, "float64")) * slack
            got = check_result(_WHO, "forward(v, g)", call(_WHO, forward, case, v, g), v, case)
            for name, b, a in zip(("v", "g"), before, (v, g)):
                check_unmodified(_WHO, name, b, a, case)
            diagnosis = lambda: _diagnose(got, _forward_mistakes(ex, axis), 64 * tol_w * float(np.max(unit_g)))  # noqa: E731
            results.append(_measure("w = g v/||v||", got, ex.w, unit_g, tol_w, case, dtype, diagnosis, "entry"))
            norms = np.sqrt(np.sum(got * got, axis=ex.axes)).reshape(-1)
            _measure("||w|| = |g| per unit", norms, np.abs(ex.g).reshape(-1), np.abs(ex.g).reshape(-1),
                     (gamma(2 * M + 8, dtype) + gamma(M + 2, "float64")) * slack, case, dtype, None, "unit")
            scaled = check_result(_WHO, f"forward({_C:g} v, g)", call(_WHO, forward, case, v * _C, g), v, case)
            _measure(f"scale invariance forward({_C:g} v, g) = forward(v, g)", scaled, got, unit_g,
                     2 * tol_w + gamma(M + 1, dtype) * slack, case, dtype, None, "entry")
        if backward is not None:
            tol_v = (gamma(2 * M + 10, dtype) + gamma(2 * M + 10, "float64")) * slack
            grad_v, grad_g = _pair(call(_WHO, backward, case, v, g, G), case)
            got_v = check_result(_WHO, "backward(...)[0] (grad_v)", grad_v, v, case)
            got_g = check_result(_WHO, "backward(...)[1] (grad_g)", grad_g, g, case)
            for name, b, a in zip(("v", "g", "grad_w"), before, (v, g, G)):
                check_unmodified(_WHO, name, b, a, case)
            loose = 64 * tol_v * float(np.max(ex.s))
            diagnosis = lambda: _diagnose(got_v, _backward_mistakes(ex), loose)  # noqa: E731
            ortho = np.abs(np.sum(ex.u * got_v, axis=ex.axes)).reshape(-1)
            ortho_scale = np.sum(np.abs(ex.u) * ex.s, axis=ex.axes).reshape(-1)
            _measure("v . grad_v = 0 per unit", ortho, np.zeros_like(ortho), ortho_scale,
                     tol_v + gamma(M, "float64") * slack, case, dtype, diagnosis, "unit")  # fmt: skip
            results.append(_measure("grad_v = (g/||v||) M_w grad_w", got_v, ex.grad_v, ex.s, tol_v, case, dtype,
                                    diagnosis, "entry"))  # fmt: skip
            g_diag = lambda: ("grad_g is v . grad_w: divide it by ||v|| (grad_g = grad_w . v/||v||)"  # noqa: E731
                              if close(got_g, ex.grad_g * ex.n.reshape(-1), 64 * tol_v * float(np.max(ex.s_g * ex.n.reshape(-1))))
                              else "grad_g is g times the right value: the factor g belongs to grad_v only"
                              if close(got_g, ex.grad_g * ex.g.reshape(-1), 64 * tol_v * float(np.max(ex.s_g * np.abs(ex.g))))
                              else None)  # fmt: skip
            _measure("grad_g = grad_w . v/||v||", got_g, ex.grad_g, ex.s_g,
                     (gamma(2 * M + 8, dtype) + gamma(2 * M + 8, "float64")) * slack, case, dtype, g_diag, "unit")
            scaled_v, _ = _pair(call(_WHO, backward, case, v * _C, g, G), case)
            scaled_v = check_result(_WHO, "backward(c v, ...)[0]", scaled_v, v, case)
            _measure(f"scale law grad_v({_C:g} v) = grad_v(v)/{_C:g}", scaled_v * _C, got_v, ex.s,
                     2 * tol_v + gamma(M + 1, dtype) * slack, case, dtype, None, "entry")
    return Measurement.worst(results)
