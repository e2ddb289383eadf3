"""The command line end to end: exit codes, the table, the JSON fields, usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gc_theory import claims
from gc_theory.cli import main

JSON_FIELDS = {"id", "statement", "source", "backend", "dtype", "residual", "tolerance", "passed",
               "control_residual", "control_failed"}  # fmt: skip


def test_verify_prints_a_table_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sub" / "results.json"
    assert main(["verify", "--only", "gc.", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "gc.P.idempotent" in text and "PASS" in text and "all verified" in text
    rows = json.loads(out.read_text())
    assert {r["id"] for r in rows} == {c.id for c in claims.select("gc.")}
    for r in rows:
        assert JSON_FIELDS <= r.keys()
        assert r["passed"] is True and r["control_failed"] is True
    assert not list(out.parent.glob(".*tmp")), "atomic write left a temporary file"


def test_verify_float32_on_array_api_strict(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--only", "gc.P.*", "--dtype", "float32", "--backend", "array_api_strict"]) == 0
    assert "float32" in capsys.readouterr().out


def test_verify_exits_1_when_a_claim_fails(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    broken = claims.Claim("gc.planted.failure", "1 = 2", "test", "none", lambda ctx, control: claims.Measurement(1.0, 0.5))
    monkeypatch.setattr(claims, "select", lambda pattern: [broken])
    assert main(["verify"]) == 1
    text = capsys.readouterr().out
    assert "FAIL" in text and "NOT verified" in text and "residual 1.00e+00 > tolerance 5.00e-01" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["verify", "--dtype", "float16"], "invalid choice: 'float16'"),
        (["verify", "--only", "nothing.matches"], "matches no claim"),
        (["verify", "--seed", "x"], "invalid int value"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
        (["figures", "--only", "nope"], "matches no figure"),
        (["verify", "--seed", "-1"], "--seed must be >= 0"),
        (["verify", "--only", "gc.P.sym"], "gc.P.symmetric"),  # no match: the closest ids are named
        (["bench", "--repeats", "0"], "--repeats must be >= 1"),
    ],
)
def test_usage_errors_exit_2_with_a_message(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        code = main(argv)
        raise SystemExit(code)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_unusable_backend_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import gc_theory.cli as cli

    monkeypatch.setattr(cli, "unavailable_reason", lambda name: "no CUDA device is visible")
    assert main(["verify", "--backend", "cupy"]) == 2
    assert "--backend cupy: no CUDA device is visible" in capsys.readouterr().err


def test_list_shows_statements_and_controls(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--list", "--only", "gc.P.idempotent"]) == 0
    text = capsys.readouterr().out
    assert "P^2 = P" in text and "control:" in text and "source:" in text


def test_console_script_and_module_entry_points(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("gc-theory")
    for cmd in ([str(exe)], [sys.executable, "-m", "gc_theory"]):
        done = subprocess.run([*cmd, "verify", "--only", "gc.P.symmetric"], capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "gc.P.symmetric" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "gc_theory", "verify", "--backend", "tpu"], capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


PLAIN_TYPES = {
    "id": str, "statement": str, "source": str, "control": str, "backend": str, "dtype": str,
    "residual": (float, type(None)), "tolerance": (float, type(None)), "residual_eps": (float, type(None)),
    "passed": bool, "control_residual": (float, type(None)), "control_tolerance": (float, type(None)),
    "control_failed": bool, "detail": str, "control_detail": str, "seconds": float, "error": (str, type(None)),
}  # fmt: skip


def test_the_json_of_the_whole_registry_round_trips(backend: str, dtype: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "all.json"
    assert main(["verify", "--backend", backend, "--dtype", dtype, "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [r["id"] for r in rows] == [c.id for c in claims.select(None)]
    for r in rows:
        for key, kind in PLAIN_TYPES.items():
            assert isinstance(r[key], kind), (r["id"], key, type(r[key]).__name__)
        assert r["passed"] is True and r["control_failed"] is True and r["error"] is None, r["id"]


def test_results_are_plain_python_at_the_source() -> None:
    import numpy as np

    m = claims.Measurement(np.float32(1.5), np.float64(2.0), np.float64(1.0), "x")
    assert type(m.residual) is float and type(m.tolerance) is float and type(m.scale) is float
    assert type(m.passed) is bool
    r = claims.get_claim("gc.P.symmetric").run()
    for key, value in r.to_dict().items():
        assert type(value).__module__ == "builtins", (key, type(value))


def test_json_to_a_directory_or_an_unwritable_path_fails_before_any_claim_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def must_not_run(*args, **kwargs):
        raise AssertionError("claims ran before the output path was checked")

    monkeypatch.setattr(claims, "run_claims", must_not_run)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for target in (tmp_path, blocker / "inside.json"):
        assert main(["verify", "--only", "gc.P", "--json", str(target)]) == 2
        assert "--json" in capsys.readouterr().err


def test_figures_out_an_existing_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "figures"
    blocker.write_text("x")
    assert main(["figures", "--out", str(blocker), "--only", "projection"]) == 2
    assert "--out" in capsys.readouterr().err


def test_list_honours_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "list.json"
    assert main(["verify", "--list", "--only", "gc.P", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [r["id"] for r in rows] == [c.id for c in claims.select("gc.P")]
    assert {"id", "statement", "source", "control", "runs_on"} <= rows[0].keys()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import gc_theory

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and gc_theory.__version__ in capsys.readouterr().out


def test_written_files_get_the_mode_a_normal_write_would(tmp_path: Path) -> None:
    import os

    from gc_theory._io import atomic_write_text

    old = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "x.json", "{}")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(("pattern", "expected"), [
    ("gc.P", {"gc.P.symmetric", "gc.P.idempotent"}),        # a dotted prefix: whole components
    ("gc.P.symmetric", {"gc.P.symmetric"}),                  # an exact id
    ("gc.P.sym*", {"gc.P.symmetric"}),                       # a glob
])  # fmt: skip
def test_one_select_rule(pattern: str, expected: set[str]) -> None:
    got = {c.id for c in claims.select(pattern)}
    assert expected <= got
    assert all(i == pattern or i.startswith(pattern + ".") for i in got) or "*" in pattern
