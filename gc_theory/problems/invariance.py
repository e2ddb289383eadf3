r"""The input-shift probe of output invariance: how :math:`y = Wx` responds to :math:`x + \gamma\mathbf 1`."""

from __future__ import annotations

from typing import Any

__all__ = ["shift_response"]


def shift_response(w: Any, x: Any, shift: float) -> Any:
    r"""How the outputs of :math:`y = Wx` move when every input entry is raised by `shift`: :math:`W(x + \gamma\mathbf 1) - Wx`.

    `w` is (out, in), `x` a batch (n, in); the result is (n, out). It vanishes
    exactly when every row of W sums to zero, the state Gradient Centralization
    preserves from a zero-mean initialisation.
    """
    return (x + shift) @ w.T - x @ w.T
