"""GC against implementations written elsewhere (skipped cleanly when they are absent)."""

from __future__ import annotations

import numpy as np
import pytest

from gc_theory import centralize

torch = pytest.importorskip("torch", reason="torch is the oracle here; install the CPU build to run these")

pytestmark = pytest.mark.oracle


@pytest.mark.parametrize("shape", [(16, 9), (8, 3, 3, 3), (32, 16, 5, 5), (3, 1)])
def test_centralize_matches_the_reference_gc_expression_in_torch(shape: tuple[int, ...]) -> None:
    """The reference GC code subtracts ``g.mean(dim=tuple(range(1, g.dim())), keepdim=True)``."""
    g = np.random.default_rng(0).standard_normal(shape)
    t = torch.from_numpy(g.copy())
    expected = t - t.mean(dim=tuple(range(1, t.dim())), keepdim=True)
    np.testing.assert_allclose(centralize(g), expected.numpy(), rtol=0, atol=8 * np.finfo(float).eps * np.abs(g).max())


def test_gc_gradient_through_torch_autograd_is_P_times_the_gradient() -> None:
    """d/dW of L(centralised W) equals P applied to dL/dW: P is symmetric, so P^T g = P g."""
    rng = np.random.default_rng(1)
    W = torch.tensor(rng.standard_normal((5, 7)), requires_grad=True)
    C = torch.tensor(rng.standard_normal((5, 7)))
    loss = ((W - W.mean(dim=1, keepdim=True)) * C).sum()
    loss.backward()
    np.testing.assert_allclose(W.grad.numpy(), centralize(C.numpy()), rtol=0, atol=1e-15)
