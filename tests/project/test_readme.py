"""Every Python snippet in the README runs as written, on its own, as a reader would paste it."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
#: Snippets that change the process (registering a claim): each runs in a fresh interpreter.
ISOLATED = [textwrap.dedent(s) for s in re.findall(r"```py\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)]


def test_the_readme_has_snippets() -> None:
    assert len(SNIPPETS) >= 4


@pytest.mark.parametrize("code", SNIPPETS, ids=[f"snippet{i}" for i in range(len(SNIPPETS))])
def test_snippet_runs_on_its_own(code: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # a snippet that writes files writes them here
    if re.search(r"^import torch$", code, flags=re.M):
        pytest.importorskip("torch", reason="this snippet checks a torch implementation; install torch's CPU build")
    exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})  # noqa: S102 - the README is ours


def test_the_readme_shows_how_to_add_a_claim() -> None:
    assert any("@claim(" in s for s in ISOLATED)


@pytest.mark.parametrize("code", ISOLATED, ids=[f"isolated{i}" for i in range(len(ISOLATED))])
def test_isolated_snippet_runs_in_a_fresh_interpreter(code: str, tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
