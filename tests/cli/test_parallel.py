"""``gc-theory verify -j N`` runs claims in worker processes with the same results as a serial run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gc_theory import claims
from gc_theory.cli import main

SELECTION = ["gc.P", "gradcheck.bugs", "optim"]


def _without_times(path: Path) -> list[dict]:
    rows = json.loads(path.read_text())
    for r in rows:
        assert r.pop("seconds") >= 0  # the one field that may differ: wall time
    return rows


def test_two_jobs_give_the_json_of_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    only = [a for p in SELECTION for a in ("--only", p)]
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    assert main(["verify", *only, "-j", "1", "--json", str(one)]) == 0
    assert main(["verify", *only, "-j", "2", "--json", str(two)]) == 0
    serial, parallel = _without_times(one), _without_times(two)
    assert len(serial) > 2
    assert parallel == serial  # same claims, same order, same numbers to the last bit


def test_run_claims_in_processes_keeps_the_order(tmp_path: Path) -> None:
    chosen = claims.select("gc.P")
    results = claims.run_claims(chosen, jobs=2, show_progress=False)
    assert [r.id for r in results] == [c.id for c in chosen]
    assert all(r.ok for r in results)


@pytest.mark.parametrize("bad", ["0", "-1", "x"])
def test_jobs_below_one_is_a_usage_error(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["verify", "--only", "gc.P", "-j", bad])
    assert stop.value.code == 2 and "-j" in capsys.readouterr().err


def test_run_claims_names_a_bad_jobs_argument() -> None:
    with pytest.raises((TypeError, ValueError), match="jobs"):
        claims.run_claims(claims.select("gc.P"), jobs=0)
