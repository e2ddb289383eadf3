"""WN's output for an example ignores the rest of its batch; batch norm's does not (claim wn.batch_independence)."""

from __future__ import annotations

import numpy as np
import pytest

from gc_theory.claims import get_claim
from gc_theory.models import BatchNorm, Linear, MeanOnlyBatchNorm, Sequential, WeightNorm
from gc_theory.models.batch_coupling import batch_coupling
from gc_theory.verify.tolerances import gamma
from gc_theory.weightnorm.reparam import weight_norm


@pytest.mark.parametrize("index", [0, 3, 7])
def test_wn_row_unchanged_when_the_batch_is_redrawn(index: int) -> None:
    rng = np.random.default_rng(index)
    wn = WeightNorm(Linear(6, 4))
    p, x = wn.init(rng), rng.standard_normal((8, 6))
    change, _ = batch_coupling(wn, p, x, rng, index=index)
    w = weight_norm(p["v"], p["g"])
    assert change <= 2 * gamma(7, "float64") * np.max(np.abs(x[index]) @ np.abs(w).T + np.abs(p["bias"]))


@pytest.mark.parametrize("norm", [BatchNorm, MeanOnlyBatchNorm])
def test_batch_statistics_couple_the_examples(norm: type) -> None:
    rng = np.random.default_rng(5)
    layer = Sequential(WeightNorm(Linear(6, 4)), norm(4))
    change, scale = batch_coupling(layer, layer.init(rng), rng.standard_normal((8, 6)), rng)
    assert change > 1e-3 * scale


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_claim_verified(dtype: str) -> None:
    r = get_claim("wn.batch_independence").run(dtype=dtype)
    assert r.passed and r.control_failed, r
