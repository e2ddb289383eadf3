"""The promises to a new user: environment.yml matches pyproject.toml, the README's commands exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def _spec(requirement: str) -> str:
    return requirement[len(_name(requirement)) :].replace(" ", "")


def test_environment_yml_lists_the_same_dependencies_as_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r): _spec(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d): _spec(d) for d in env["dependencies"] if isinstance(d, str) and _name(d) not in ("python", "pip")}
    assert conda == wanted
    python = next(d for d in env["dependencies"] if isinstance(d, str) and _name(d) == "python")
    assert _spec(python) == project["requires-python"]


def test_readme_opens_with_the_two_commands_and_ci_runs_the_tests() -> None:
    readme = (ROOT / "README.md").read_text()
    head = readme[: readme.index("\n## ", readme.index("make test"))]
    assert "make verify" in head and "make test" in head
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_makefile_sets_itself_up() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for target in ("verify:", "test:", "figures:", "bench:"):
        assert re.search(rf"^{target}", makefile, re.M), target
    assert "-m venv" in makefile


def test_readme_embeds_every_committed_figure() -> None:
    readme = (ROOT / "README.md").read_text()
    for png in sorted((ROOT / "figures").glob("*.png")):
        assert f"figures/{png.name}" in readme, png.name
