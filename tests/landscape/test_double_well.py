"""GD on a tilted double well stays in its basin (claim saddle.double_well.basin)."""

from __future__ import annotations

import numpy as np
import pytest

from gc_theory.claims import get_claim
from gc_theory.landscape.double_well import double_well_critical_points, double_well_gd


@pytest.mark.parametrize("c", [0.0, 0.1, 0.3, -0.2])
def test_critical_points_are_roots_with_the_right_curvature(c: float) -> None:
    left, peak, right = double_well_critical_points(c)
    for x in (left, peak, right):
        assert abs(x**3 - x + c) <= 1e-15 * (abs(x) ** 3 + abs(x) + abs(c) + 1)
    assert 3 * left**2 - 1 > 0 and 3 * peak**2 - 1 < 0 and 3 * right**2 - 1 > 0


def test_gd_from_the_shallow_basin_misses_the_global_minimum() -> None:
    left, peak, right = double_well_critical_points(0.3)
    f = lambda x: (x**2 - 1) ** 2 / 4 + 0.3 * x  # noqa: E731
    assert f(left) < f(right)  # the left minimum is the global one
    x = double_well_gd(np.array([peak + 0.05, 1.5]), 0.3, 0.1, 800)
    assert np.max(np.abs(x - right)) < 1e-14


def test_claim_verified() -> None:
    r = get_claim("saddle.double_well.basin").run()
    assert r.passed and r.control_failed, r


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="c"):
        double_well_critical_points(0.5)
    with pytest.raises(ValueError, match="h"):
        double_well_gd(np.zeros(2), 0.0, 0.0, 10)
    with pytest.raises(TypeError, match="x0"):
        double_well_gd([0.0], 0.0, 0.1, 10)
    with pytest.raises(ValueError, match="steps"):
        double_well_gd(np.zeros(2), 0.0, 0.1, 0)
