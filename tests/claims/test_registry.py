"""Every registered claim holds, and every control fails, on every backend and dtype.

New areas' claims are picked up automatically from the registry.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gc_theory import claims
from gc_theory.core.backend import get_namespace
from gc_theory.claims import AREAS, CONTROL_MARGIN, Measurement
from gc_theory.core.registry import Registry, matches

ALL = list(claims.registry().values())

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
    assert c.area in AREAS
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


@pytest.mark.parametrize("c", ALL, ids=[c.id for c in ALL])
def test_claim_id_names_the_area_of_its_module(c: claims.Claim) -> None:
    area = claims.module_area(c.check.__module__)
    assert area == c.area, f"{c.id} is defined in {c.check.__module__}, whose area is {area!r}"


def test_module_area_is_the_first_component_below_the_claims_package() -> None:
    assert claims.module_area("gc_theory.claims.gc.projection") == "gc"
    assert claims.module_area("gc_theory.claims.gc.confinement") == "gc"
    assert claims.module_area("gc_theory.claims.optim") == "optim"
    with pytest.raises(ValueError, match="module must be inside gc_theory.claims"):
        claims.module_area("gc_theory.verify.measurement")


def test_every_area_has_its_claim_module_and_its_package() -> None:
    """The one list of areas names a claim module and a numerics package that exist, and nothing else does."""
    import importlib
    import pkgutil

    from gc_theory.core.areas import AREAS

    for area in AREAS:
        importlib.import_module(f"gc_theory.claims.{area.name}")
        importlib.import_module(f"gc_theory.{area.package}")
    modules = {m.name for m in pkgutil.iter_modules(importlib.import_module("gc_theory.claims").__path__) if not m.name.startswith("_")}
    assert modules == {a.name for a in AREAS}
    assert {c.area for c in ALL} == {a.name for a in AREAS}


def test_a_claim_outside_the_areas_is_refused() -> None:
    with pytest.raises(ValueError, match="claim id must start with an area"):
        claims.claim("nowhere.x", statement="s", source="s", control="c")(lambda ctx, control: Measurement(0, 1))


def test_a_duplicate_claim_id_is_refused() -> None:
    with pytest.raises(ValueError, match="'gc.P.idempotent' is registered twice"):
        claims.claim("gc.P.idempotent", statement="s", source="s", control="c")(lambda ctx, control: Measurement(0, 1))


def test_select_by_dotted_prefix_exact_id_and_glob() -> None:
    assert {c.id for c in claims.select("gc.P")} >= {"gc.P.symmetric", "gc.P.idempotent"}
    assert all(c.id.startswith("gc.P.") for c in claims.select("gc.P"))
    assert claims.select("gc.P.") == claims.select("gc.P")
    assert [c.id for c in claims.select("gc.P.symmetric")] == ["gc.P.symmetric"]
    # a prefix is made of whole components: "gc.P.sym" is no component, "gc.P.sym*" is a glob
    assert claims.select("gc.P.sym") == []
    assert [c.id for c in claims.select("gc.P.sym*")] == ["gc.P.symmetric", "gc.P.symbolic"]
    assert [c.id for c in claims.select("*.idempotent")] == ["gc.P.idempotent", "gc.centralize.idempotent"]
    assert claims.select("no.such") == []
    assert claims.select(None) == claims.select("") == ALL


@given(st.lists(st.sampled_from(["a", "b", "ab", "P", "x_1"]), min_size=1, max_size=4), st.sampled_from(["", "c", ".c"]))
def test_a_dotted_prefix_matches_whole_components_only(parts: list[str], tail: str) -> None:
    name = ".".join(parts)
    assert matches(name, name) and matches(name + ".c", name) and matches(name + ".c", name + ".")
    assert matches(name + tail, name) == (tail in ("", ".c"))
    assert matches(name, name + "*") and not matches(name, name + "?")


def test_get_claim_names_the_closest_ids() -> None:
    with pytest.raises(KeyError, match="closest: gc.P.symmetric"):
        claims.get_claim("gc.P.symetric")


def test_get_claim_refuses_a_non_string_by_name() -> None:
    claim = claims.get_claim("gc.P.symmetric")
    with pytest.raises(TypeError, match="name must be a claim name"):
        claims.get_claim(claim)  # a Claim where its id belongs: said so, not an AttributeError from the suggester


def _write_area_package(root: Path, name: str, modules: dict[str, str]) -> None:
    pkg = root / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for module, ids in modules.items():
        (pkg / f"{module}.py").write_text(
            f"from {name}_registry import REG\n" + "".join(f"REG.register({i!r}, {module!r})\n" for i in ids.split())
        )


def test_discovery_imports_every_public_module_once_in_area_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_area_package(tmp_path, "toyareas", {"zeta": "zeta.one", "alpha": "alpha.one alpha.two", "beta": "beta.x", "_private": "hidden.x"})
    (tmp_path / "toyareas_registry.py").write_text(
        "from gc_theory.core.registry import Registry\nREG = Registry('thing', 'toyareas', order=('beta',))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from toyareas_registry import REG  # type: ignore[import-not-found]

    try:
        # the ordering tuple first, then every other public module alphabetically; private modules never
        assert REG.names() == ["beta.x", "alpha.one", "alpha.two", "zeta.one"]
        assert REG.names() == ["beta.x", "alpha.one", "alpha.two", "zeta.one"]  # loaded once: no duplicate error
        assert REG.select("alpha") == ["alpha.one", "alpha.two"] and REG.get("zeta.one") == "zeta"
        with pytest.raises(KeyError, match="no thing 'alpha.three'; closest: alpha.one, alpha.two"):
            REG.get("alpha.three")
        assert "matches no thing" in REG.no_match_message("gamma")
    finally:
        for mod in [m for m in sys.modules if m.startswith("toyareas")]:
            del sys.modules[mod]


def test_registry_refuses_duplicates_and_nameless_entries() -> None:
    reg: Registry[int] = Registry("widget", "gc_theory.figures")
    reg.register("a", 1)
    with pytest.raises(ValueError, match="widget 'a' is registered twice"):
        reg.register("a", 2)
    with pytest.raises(TypeError, match="widget name must be a non-empty str"):
        reg.register("", 3)


def test_figures_and_benchmarks_select_by_the_same_rule() -> None:
    from gc_theory import bench, figures

    assert figures.select("projection_geometry") == ["projection_geometry"]
    assert figures.select("projection") == []  # a prefix is a whole component, as for claims
    assert figures.select("projection*") == [n for n in figures.names() if n.startswith("projection")]
    assert bench.select("centralize") == ["centralize"] and bench.select("*") == bench.names()
    with pytest.raises(KeyError, match="no figure 'projection_geometri'; closest: projection_geometry"):
        figures.get("projection_geometri")


def test_the_verdict_names_the_worst_case_and_counts_the_cases() -> None:
    def check(ctx, control):
        if control:
            return [Measurement(50.0, 1.0, detail="far"), Measurement(20.0, 1.0)]
        return [Measurement(0.1, 1.0, detail="easy"), Measurement(0.9, 1.0), Measurement(0.5, 1.0, detail="mid")]

    result = claims.Claim("gc.test.cases", "s", "src", "ctl", check).run()
    assert result.ok and result.cases == 3 and result.control_cases == 2
    assert result.residual == 0.9 and result.detail == "case 2 of 3"
    assert result.control_residual == 20.0 and result.control_detail == "case 2 of 2"


def test_numpy_and_array_scalars_become_plain_python_at_the_source(xp) -> None:
    residual = xp.asarray(1e-17, dtype=xp.float64)
    m = Measurement(residual, np.float32(1e-16), np.float64(2.0), "where")
    assert type(m.residual) is float and type(m.tolerance) is float and type(m.scale) is float
    assert type(m.passed) is bool and m.passed
    with pytest.raises(TypeError, match="tolerance must be a real number or a 0-d array, got str"):
        Measurement(0.0, "1e-16")
    with pytest.raises(TypeError, match="residual must be a real number, got bool"):
        Measurement(True, 1.0)

    result = claims.Claim("gc.test.np", "s", "src", "ctl", lambda ctx, control: Measurement(np.float64(1.0 + 99 * control), np.float64(1.0))).run()
    assert type(result.passed) is bool and type(result.control_failed) is bool and type(result.cases) is int


_PLAIN_TYPES = {
    "id": str, "statement": str, "source": str, "control": str, "backend": str, "dtype": str,
    "residual": float, "tolerance": float, "residual_eps": (float, type(None)), "passed": bool,
    "control_residual": float, "control_tolerance": float, "control_failed": bool, "detail": str,
    "control_detail": str, "cases": int, "control_cases": int, "seconds": float, "error": type(None),
}  # fmt: skip


def test_the_whole_registry_writes_json_of_plain_types(backend: str, dtype: str, tmp_path: Path) -> None:
    get_namespace(backend)
    results = claims.run_claims(ALL, backend, dtype, seed=0, show_progress=False)
    for r in results:
        for name, value in vars(r).items():
            assert isinstance(value, _PLAIN_TYPES[name]) and type(value) is not np.bool_, (r.id, name, type(value))
            if _PLAIN_TYPES[name] is int:
                assert type(value) is int
    path = tmp_path / "all.json"
    claims.write_json(results, path)
    rows = json.loads(path.read_text())
    assert [row["id"] for row in rows] == [c.id for c in ALL]
    for row in rows:
        assert row.keys() == _PLAIN_TYPES.keys()
        for name, value in row.items():
            # JSON has one number type for int and float, and writes NaN as null
            want = _PLAIN_TYPES[name]
            assert value is None or isinstance(value, (int, float) if want in (int, float) else want), (row["id"], name)
        assert row["passed"] is True and row["control_failed"] is True and row["cases"] >= 1


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


def test_numpy_only_claims_report_the_dtype_they_compute_in() -> None:
    """SciPy-based claims compute in float64 whatever dtype is asked for; the table must say float64."""
    numpy_only = [c for c in ALL if c.runs_on == claims.NUMPY_ONLY]
    assert numpy_only
    for c in numpy_only[:3]:
        result = c.run(backend="array_api_strict", dtype="float32")
        assert (result.backend, result.dtype) == ("numpy", "float64"), c.id
