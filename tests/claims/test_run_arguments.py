"""Claim.run refuses a dtype or backend it does not know instead of reporting a failed claim (issue 21, item 18)."""

import pytest

from gc_theory import claims


def _any_claim():
    return claims.select("cg.*")[0]


def test_run_with_an_unknown_dtype_raises():
    with pytest.raises(ValueError, match="dtype must be one of .*float16"):
        _any_claim().run(dtype="float16")


def test_run_with_an_unknown_backend_raises():
    with pytest.raises(ValueError, match="backend must be one of .*nosuch"):
        _any_claim().run(backend="nosuch")
