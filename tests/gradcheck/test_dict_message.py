"""check_gradient on a dict of parameters names the way to flatten it (issue 21, item 18)."""

import numpy as np
import pytest

from gc_theory.gradcheck import check_gradient


def test_a_dict_of_parameters_points_to_ravel_params():
    params = {"w": np.ones(2), "b": np.zeros(1)}
    with pytest.raises(TypeError, match=r"x must be an array, got dict.*ravel_params"):
        check_gradient(lambda p: 0.0, lambda p: p, params)
