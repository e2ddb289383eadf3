"""`--json` writes regular files only: special files and links are refused before any claim runs."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gc_theory import claims
from gc_theory.cli import main
from gc_theory.core.io import atomic_write_text


@pytest.fixture
def no_claims_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a claim ran before --json was checked")

    monkeypatch.setattr(claims, "run_claims", refuse)


def _fifo(tmp_path: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def _link(tmp_path: Path) -> Path:
    target = tmp_path / "target.json"
    target.write_text("keep\n")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    return link


@pytest.mark.parametrize("command", [["verify", "--only", "wn"], ["verify", "--list"]])
@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (_fifo, "FIFO"),
        (_link, "symbolic link"),
        (lambda tmp: tmp, "directory"),
    ],
)
def test_special_json_targets_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_claims_run: None, command: list[str], make, pattern: str
) -> None:
    path = make(tmp_path)
    before = os.lstat(path)
    assert main([*command, "--json", str(path)]) == 2
    assert pattern in capsys.readouterr().err
    after = os.lstat(path)
    assert (after.st_ino, stat.S_IFMT(after.st_mode)) == (before.st_ino, stat.S_IFMT(before.st_mode))
    if path.is_symlink():
        assert path.resolve().read_text() == "keep\n"


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null")
def test_device_node_is_refused(capsys: pytest.CaptureFixture[str], no_claims_run: None) -> None:
    assert main(["verify", "--only", "wn", "--json", "/dev/null"]) == 2
    assert "device node" in capsys.readouterr().err
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.skipif(not os.path.exists("/proc/version"), reason="no /proc")
def test_proc_file_is_refused_before_claims_run(capsys: pytest.CaptureFixture[str], no_claims_run: None) -> None:
    assert main(["verify", "--only", "wn", "--json", "/proc/version"]) == 2
    assert "--json /proc/version" in capsys.readouterr().err


def test_atomic_write_refuses_special_files(tmp_path: Path) -> None:
    fifo = _fifo(tmp_path)
    with pytest.raises(ValueError, match="FIFO"):
        atomic_write_text(fifo, "x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    link = _link(tmp_path)
    with pytest.raises(ValueError, match="symbolic link"):
        atomic_write_text(link, "x")
    assert link.is_symlink() and link.resolve().read_text() == "keep\n"


def test_regular_files_are_still_replaced(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    path.write_text("old")
    atomic_write_text(path, "new")
    assert path.read_text() == "new"
