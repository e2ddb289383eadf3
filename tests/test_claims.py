"""Every registered claim holds, and every control fails, on every backend and dtype.

New areas' claims are picked up automatically from the registry.
"""

from __future__ import annotations

import math
import re

import pytest

from gc_theory import claims
from gc_theory.claims import CONTROL_MARGIN, Measurement

ALL = list(claims.registry().values())
AREAS = ("gc", "optim", "models", "gradcheck", "wn", "igr")


@pytest.mark.parametrize("c", ALL, ids=[c.id for c in ALL])
def test_claim_holds_and_control_fails(c: claims.Claim, backend: str, dtype: str) -> None:
    result = c.run(backend=backend, dtype=dtype, seed=0)
    assert result.error is None, result.error
    assert result.passed, f"{c.id}: residual {result.residual:.3e} > tolerance {result.tolerance:.3e} ({result.detail})"
    assert result.control_failed, (
        f"{c.id}: control '{c.control}' did not fail by {CONTROL_MARGIN}x: "
        f"residual {result.control_residual:.3e}, tolerance {result.control_tolerance:.3e}"
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_gc_claims_hold_for_other_seeds(seed: int) -> None:
    results = claims.run_claims(claims.select("gc."), seed=seed)
    assert all(r.ok for r in results), [r.id for r in results if not r.ok]


@pytest.mark.parametrize("c", ALL, ids=[c.id for c in ALL])
def test_claim_is_well_formed(c: claims.Claim) -> None:
    assert re.fullmatch(r"[a-z0-9_]+(\.[A-Za-z0-9_]+)+", c.id), c.id
    assert c.id.split(".")[0] in AREAS
    for text in (c.statement, c.source, c.control):
        assert text.strip() and text == text.strip()


def test_claim_ids_are_unique_and_the_registry_is_stable() -> None:
    assert list(claims.registry()) == [c.id for c in ALL]


def test_measurement_verdicts() -> None:
    assert Measurement(1.0, 1.0).passed and not Measurement(1.0 + 1e-12, 1.0).passed
    assert not Measurement(math.nan, 1.0).passed and Measurement(math.nan, 1.0).ratio == math.inf
    assert Measurement(0.0, 0.0).passed and not Measurement(1e-300, 0.0).passed
    worst = Measurement.worst([Measurement(0.0, 1.0), Measurement(0.5, 1.0), Measurement(0.0, 2.0)])
    assert worst.residual == 0.5


def test_a_check_that_raises_is_reported_not_hidden() -> None:
    def broken(ctx, control):
        raise ZeroDivisionError("planted")

    c = claims.Claim("gc.test.broken", "s", "src", "ctl", broken)
    result = c.run()
    assert not result.ok and "ZeroDivisionError: planted" in result.error


def test_a_control_that_holds_marks_the_claim_unverified() -> None:
    c = claims.Claim("gc.test.weak", "s", "src", "ctl", lambda ctx, control: Measurement(0.0, 1.0))
    result = c.run()
    assert result.passed and not result.control_failed and not result.ok


def test_select_by_prefix_and_glob() -> None:
    assert {c.id for c in claims.select("gc.P")} >= {"gc.P.symmetric", "gc.P.idempotent"}
    assert all(c.id.startswith("gc.P.") for c in claims.select("gc.P"))
    assert [c.id for c in claims.select("*.idempotent")] == ["gc.P.idempotent", "gc.centralize.idempotent"]
    assert claims.select("no.such") == []


def test_same_seed_same_numbers() -> None:
    a = claims.get_claim("gc.P.hessian_bound").run(seed=5)
    b = claims.get_claim("gc.P.hessian_bound").run(seed=5)
    assert (a.residual, a.control_residual) == (b.residual, b.control_residual)


def test_residuals_that_are_not_rounding_errors_show_no_eps_count() -> None:
    c = claims.Claim("gc.test.slope", "s", "src", "ctl", lambda ctx, control: Measurement(0.05 + control, 0.1, None))
    result = c.run()
    assert result.ok and result.residual_eps is None and result.to_dict()["residual_eps"] is None
    row = claims.format_table([result]).splitlines()[2].split()
    assert row[5] == "-"
