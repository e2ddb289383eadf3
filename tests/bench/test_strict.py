"""A missed speed target is reported (table and JSON), and fails the command only under --strict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gc_theory import bench
from gc_theory.bench import Report
from gc_theory.cli import main


@pytest.fixture
def missed_target(monkeypatch: pytest.MonkeyPatch) -> str:
    def fake(repeats: int, quick: bool) -> Report:
        return Report("fake", ["case", "ms"], [["a", 1.0]], targets={"faster than light": False, "ran": True})

    original = bench.BENCHMARKS.get

    monkeypatch.setattr(bench.BENCHMARKS, "get", lambda name: fake if name == "fake" else original(name))
    monkeypatch.setattr(bench.BENCHMARKS, "select", lambda pattern=None: ["fake"])
    monkeypatch.setattr(bench.BENCHMARKS, "names", lambda: ["fake"])
    return "fake"


def test_a_missed_target_is_reported_and_exits_zero(
    missed_target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    assert main(["bench", "--only", missed_target, "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "MISSED" in text and "faster than light" in text and "met" in text
    (report,) = json.loads(out.read_text())["benchmarks"]
    assert report["targets"] == {"faster than light": False, "ran": True}
    assert report["missed"] == ["faster than light"]


def test_strict_turns_a_missed_target_into_exit_one(missed_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--only", missed_target, "--strict"]) == 1
    assert "1 target missed" in capsys.readouterr().out


def test_bench_lists_its_benchmarks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--list"]) == 0
    assert set(capsys.readouterr().out.split()) >= set(bench.names())


def test_figures_lists_its_figures_and_has_its_own_only_help(capsys: pytest.CaptureFixture[str]) -> None:
    from gc_theory import figures

    assert main(["figures", "--list"]) == 0
    assert capsys.readouterr().out.split() == sorted(figures.FIGURES.names())
    with pytest.raises(SystemExit):
        main(["figures", "--help"])
    assert "figure name" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    text = capsys.readouterr().out
    assert "benchmark name" in text and "--strict" in text and "claim id" not in text
