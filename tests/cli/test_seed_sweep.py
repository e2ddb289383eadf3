"""tools/seed_sweep.py follows the command line's rules: usage errors before any claim runs."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from gc_theory import claims

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sweep_main():  # noqa: ANN201
    spec = importlib.util.spec_from_file_location("seed_sweep", ROOT / "tools" / "seed_sweep.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _no_claim_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("a claim ran although the arguments were refused")

    monkeypatch.setattr(claims.Claim, "run", refuse)


def test_a_pattern_matching_nothing_is_a_usage_error_naming_the_closest_ids(
    sweep_main, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]  # noqa: ANN001
) -> None:
    _no_claim_runs(monkeypatch)
    assert sweep_main(["--only", "gc.P.idempotnt"]) == 2
    err = capsys.readouterr().err
    assert "--only" in err and "matches no claim" in err and "gc.P.idempotent" in err


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--dtype", "float16"], "--dtype"),
        (["--backend", "nosuch"], "--backend"),
        (["--seeds", "0"], "--seeds"),
        (["--first", "-1"], "--first"),
    ],
)
def test_bad_values_are_refused_before_anything_runs(
    sweep_main, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], named: str  # noqa: ANN001
) -> None:
    _no_claim_runs(monkeypatch)
    with pytest.raises(SystemExit) as stop:
        sweep_main(["--only", "gc.P.idempotent", *argv])
    assert stop.value.code == 2
    assert named in capsys.readouterr().err


def test_an_unusable_backend_is_a_usage_error(
    sweep_main, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]  # noqa: ANN001
) -> None:
    import gc_theory.cli as cli

    _no_claim_runs(monkeypatch)
    monkeypatch.setattr(cli, "unavailable_reason", lambda name: "not installed here")
    assert sweep_main(["--only", "gc.P.idempotent", "--backend", "cupy"]) == 2
    assert "--backend cupy: not installed here" in capsys.readouterr().err


def test_help_describes_every_option(sweep_main, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as stop:
        sweep_main(["--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    for option in ("--seeds", "--first", "--backend", "--dtype", "--only", "--json"):
        i = next(k for k, ln in enumerate(lines) if ln.strip().startswith(option))
        # argparse puts the description after the metavar, or alone on the next, deeper-indented line
        after = lines[i].split(option, 1)[1].split(maxsplit=1)
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        assert len(after) == 2 or (nxt.startswith(" " * 8) and nxt.strip()), f"{option} has no description"
    assert "default" in text


def test_a_sweep_reports_each_seed_and_writes_json(
    sweep_main, tmp_path: Path, capsys: pytest.CaptureFixture[str]  # noqa: ANN001
) -> None:
    out = tmp_path / "sweep.json"
    assert sweep_main(["--only", "gc.P.idempotent", "--seeds", "2", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [r["id"] for r in rows] == ["gc.P.idempotent"]
    assert rows[0]["seeds"] == [0, 1] and rows[0]["failed_seeds"] == []
    assert 0 < rows[0]["worst_ratio"] <= 1 and rows[0]["closest_control"] >= claims.CONTROL_MARGIN
    assert "gc.P.idempotent" in capsys.readouterr().out
