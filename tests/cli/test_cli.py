"""The command line end to end: exit codes, the table, the JSON fields, usage errors."""

from __future__ import annotations

import json
import math
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gc_theory import __version__, claims
from gc_theory.core.io import atomic_write_text, default_file_mode
from gc_theory.claims._report import format_table, rows
from gc_theory.cli import main
from gc_theory.core.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
EXCERPT_START, EXCERPT_END = "<!-- verify-excerpt:start -->", "<!-- verify-excerpt:end -->"

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
    planted: Registry[claims.Claim] = Registry("claim", "gc_theory.claims")
    planted.register(broken.id, broken)
    monkeypatch.setattr(planted, "load", lambda: None)  # only the planted claim, no discovery
    monkeypatch.setattr(claims, "CLAIMS", planted)
    monkeypatch.setattr(claims, "get_claim", planted.get)
    assert main(["verify"]) == 1
    text = capsys.readouterr().out
    assert "FAIL" in text and "NOT verified" in text and "residual 1.00e+00 > tolerance 5.00e-01" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["verify", "--dtype", "float16"], "invalid choice: 'float16'"),
        (["verify", "--only", "nothing.matches"], "matches no claim"),
        (["verify", "--only", "gc.P.sym"], "'gc.P.sym' matches no claim; closest: gc.P.symmetric, gc.P.symbolic"),
        (["verify", "--only", "gc.P", "--only", "gc.Pfoo"], "'gc.Pfoo' matches no claim"),
        (["verify", "--seed", "x"], "invalid int value"),
        (["verify", "--seed", "-1"], "argument --seed: must be an integer >= 0, got -1"),
        (["verify", "--format", "html"], "invalid choice: 'html'"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
        (["figures", "--only", "nope"], "matches no figure"),
        (["bench", "--repeats", "0"], "argument --repeats: must be an integer >= 1, got 0"),
        (["bench", "--only", "nope"], "matches no benchmark"),
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


def _usage_exit(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run `argv`, check it is a usage error (exit 2, one message line, no traceback); return stderr."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.out == ""
    assert len([line for line in captured.err.splitlines() if "error:" in line]) == 1
    return captured.err


def test_json_to_a_directory_is_refused_before_any_claim_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(claims, "run_claims", lambda *a, **k: pytest.fail("claims ran before the path was checked"))
    assert f"--json {tmp_path}: is a directory" in _usage_exit(["verify", "--json", str(tmp_path)], capsys)
    blocker = tmp_path / "file"
    blocker.write_text("")
    target = blocker / "results.json"
    assert f"{blocker} is not a directory" in _usage_exit(["verify", "--json", str(target)], capsys)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere")
def test_json_to_an_unwritable_folder_is_refused_before_any_claim_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(claims, "run_claims", lambda *a, **k: pytest.fail("claims ran before the path was checked"))
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert "cannot create files in" in _usage_exit(["verify", "--json", str(locked / "r.json")], capsys)
    finally:
        locked.chmod(0o700)


def test_figures_out_an_existing_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / "figures"
    existing.write_text("not a folder")
    err = _usage_exit(["figures", "--out", str(existing), "--only", "projection_geometry"], capsys)
    assert "exists and is not a directory" in err and existing.read_text() == "not a folder"


def test_bench_json_to_a_directory_is_refused_before_any_benchmark_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "is a directory" in _usage_exit(["bench", "--only", "centralize", "--json", str(tmp_path)], capsys)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"gc-theory {__version__}"


def test_list_honours_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "list.json"
    assert main(["verify", "--list", "--only", "gc.P", "--json", str(out)]) == 0
    listing = json.loads(out.read_text())
    assert [row["id"] for row in listing] == [c.id for c in claims.select("gc.P")]
    assert all(set(row) == {"id", "statement", "source", "control", "runs_on"} for row in listing)
    assert "gc.P.symmetric" in capsys.readouterr().out


def test_only_repeated_selects_the_union_in_registry_order(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--list", "--only", "gc.P.symmetric", "--only", "optim.ewma.*", "--only", "gc.P.symmetric"]) == 0
    ids = [line for line in capsys.readouterr().out.splitlines() if not line.startswith(" ")]
    assert ids == ["gc.P.symmetric", "optim.ewma.unbiased", "optim.ewma.weights", "optim.ewma.corrected_sequence"]


@pytest.mark.parametrize("existing_mode", [None, 0o640])
def test_atomic_writes_get_the_mode_a_plain_write_would(tmp_path: Path, existing_mode: int | None) -> None:
    path = tmp_path / "out.json"
    if existing_mode is None:
        expected = default_file_mode()
        plain = tmp_path / "plain.json"
        plain.write_text("x")
        assert stat.S_IMODE(plain.stat().st_mode) == expected  # what open(path, "w") gives
    else:
        path.write_text("old")
        path.chmod(existing_mode)
        expected = existing_mode
    atomic_write_text(path, "new")
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == expected


def test_atomic_writes_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o640


def test_markdown_format_is_a_pipe_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--only", "gc.P.symmetric", "--format", "markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| claim | backend | dtype | residual | tolerance | res/eps | result | control |"
    assert lines[2].startswith("| gc.P.symmetric | numpy | float64 |") and lines[2].endswith(" |")


def _excerpt_rows(text: str) -> list[list[str]]:
    """The table rows (cells) between the excerpt markers: pipe-table or fixed-width rows that start with a claim id."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.lstrip().startswith("|") else None
        if cells is None:
            # fixed-width: the control column is the rest of the line ("fails (3.6e+15x tol)")
            parts = line.split(None, 7)
            cells = parts if len(parts) == 8 else None
        if cells and re.fullmatch(r"[a-z0-9_]+(\.[A-Za-z0-9_]+)+", cells[0]):
            rows.append(cells)
    return rows


def _same_magnitude(shown: str, fresh: str) -> bool:
    if shown in ("0", "nan", "-", "exact") or fresh in ("0", "nan", "-", "exact"):
        return shown == fresh
    a, b = float(shown), float(fresh)
    if a == 0.0 or b == 0.0:  # "0.0" eps: the same only if the fresh one also rounds to 0.0 shown
        return a == b or max(a, b) < 0.05
    return abs(math.log10(a) - math.log10(b)) <= 1.0


def _excerpt_mismatches(readme: str) -> list[str]:
    """Each row of the README's verify excerpt that a fresh run contradicts (verdicts exactly, numbers loosely)."""
    block = readme[readme.index(EXCERPT_START) + len(EXCERPT_START) : readme.index(EXCERPT_END)]
    shown = _excerpt_rows(block)
    if not shown:
        return ["the verify excerpt holds no claim rows"]
    wrong = []
    for cells in shown:
        claim_id, backend, dtype = cells[:3]
        c = claims.get_claim(claim_id)
        fresh = c.run(backend="numpy" if c.runs_on else backend, dtype="float64" if dtype == "exact" else dtype)
        (row,) = rows([fresh])
        same = (
            cells[:3] == list(row[:3])
            and cells[6] == row[6]  # the verdict
            and cells[7].split()[0] == row[7].split()[0]  # the control fails (or holds)
            and all(_same_magnitude(cells[k], row[k]) for k in (3, 4, 5))  # residual, tolerance, res/eps
        )
        if not same:
            wrong.append(f"shown {cells}, fresh {list(row)}")
    return wrong


def test_readme_verify_excerpt_matches_a_fresh_run() -> None:
    readme = (ROOT / "README.md").read_text()
    if EXCERPT_START not in readme:
        pytest.skip(f"README has no {EXCERPT_START} block yet")
    assert _excerpt_mismatches(readme) == []


def test_the_excerpt_check_accepts_a_fresh_excerpt_and_catches_a_stale_one() -> None:
    results = claims.run_claims(claims.select("gc.P.idempotent") + claims.select("gradcheck.diagnosis.shrink_h"))
    fresh = f"{EXCERPT_START}\n```\n{format_table(results)}\n...\n```\n{EXCERPT_END}"
    assert _excerpt_mismatches(fresh) == []
    stale_verdict = fresh.replace("PASS", "FAIL", 1)
    stale_residual = re.sub(r"(gc\.P\.idempotent\s+numpy\s+float64\s+)\S+", r"\g<1>9.99e-03", fresh)
    assert len(_excerpt_mismatches(stale_verdict)) == 1 and len(_excerpt_mismatches(stale_residual)) == 1
    assert _excerpt_mismatches(f"{EXCERPT_START}\n{EXCERPT_END}") == ["the verify excerpt holds no claim rows"]


def test_excerpt_rows_parse_both_table_formats() -> None:
    fixed = "gc.P.idempotent                  numpy    float64  1.11e-16  5.18e-16   0.7      PASS    fails (3.6e+15x tol)"
    pipe = "| gc.P.idempotent | numpy | float64 | 1.11e-16 | 5.18e-16 | 0.7 | PASS | fails (3.6e+15x tol) |"
    assert _excerpt_rows(fixed) == _excerpt_rows(pipe) == [
        ["gc.P.idempotent", "numpy", "float64", "1.11e-16", "5.18e-16", "0.7", "PASS", "fails (3.6e+15x tol)"]
    ]
    assert _excerpt_rows("claim backend dtype\n-----\n...\n30 claims, 30 verified") == []
    assert _same_magnitude("1.11e-16", "7.22e-16") and not _same_magnitude("1.11e-16", "7.22e-14")
    assert _same_magnitude("0.0", "0.0") and not _same_magnitude("0.0", "3.5")
