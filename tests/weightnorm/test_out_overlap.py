"""`weight_norm_backward(out=...)` refuses any buffer that overlaps `v`, not only `v` itself."""

from __future__ import annotations

import numpy as np
import pytest

from gc_theory.weightnorm.reparam import weight_norm_backward


def _problem() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    v = rng.standard_normal((4, 4))
    return v, rng.standard_normal(4) + 2.0, rng.standard_normal((4, 4))


@pytest.mark.parametrize("view", [lambda v: v.T, lambda v: v[::-1], lambda v: v[:, ::-1], lambda v: v[...]])
def test_out_overlapping_v_is_refused(view) -> None:
    v, g, grad_w = _problem()
    before = v.copy()
    with pytest.raises(ValueError, match="out must not share memory with v"):
        weight_norm_backward(v, g, grad_w, out=view(v))
    np.testing.assert_array_equal(v, before)


def test_out_grad_w_and_fresh_buffers_still_work() -> None:
    v, g, grad_w = _problem()
    expected, _ = weight_norm_backward(v, g, grad_w)
    buffer = np.empty_like(v)
    got, _ = weight_norm_backward(v, g, grad_w, out=buffer)
    np.testing.assert_array_equal(got, expected)
    in_place, _ = weight_norm_backward(v, g, grad_w.copy(), out=grad_w)
    np.testing.assert_allclose(in_place, expected, rtol=1e-15, atol=1e-15)
