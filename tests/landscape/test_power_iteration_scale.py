"""Power iteration is scale-free in its start vector: a huge or tiny v0 is not overflow nor zero."""

from __future__ import annotations

import numpy as np
import pytest

from gc_theory.landscape.power_iteration import largest_eigenvalue, top_eigenvalue

A = np.diag([3.0, 1.0, -0.5])


@pytest.mark.parametrize("scale", [1e200, 1e300, 1e-170, 1e-300, 5e-324])
def test_start_vector_scale_does_not_matter(scale: float) -> None:
    result = top_eigenvalue(lambda v: A @ v, np.full(3, scale))
    assert result.converged
    assert result.eigenvalue == pytest.approx(3.0, rel=1e-9)
    assert np.linalg.norm(result.vector) == pytest.approx(1.0, rel=1e-12)
    assert largest_eigenvalue(lambda v: A @ v, np.full(3, scale)) == pytest.approx(3.0, rel=1e-9)


def test_zero_start_vector_is_still_refused() -> None:
    with pytest.raises(ValueError, match="v0 must be nonzero"):
        top_eigenvalue(lambda v: A @ v, np.zeros(3))
