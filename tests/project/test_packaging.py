"""The promises to a new user: environment.yml matches pyproject.toml, the README's commands exist."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def _spec(requirement: str) -> str:
    return requirement[len(_name(requirement)) :].replace(" ", "")


def test_environment_yml_lists_the_same_dependencies_as_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = {_name(r): _spec(r) for r in project["dependencies"] + extras["test"] + extras["notebooks"]}
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
    for target in ("verify:", "test:", "test-fast:", "figures:", "bench:", "lab:", "notebooks:"):
        assert re.search(rf"^{target}", makefile, re.M), target
    assert "-m venv" in makefile


def test_readme_embeds_every_committed_figure() -> None:
    readme = (ROOT / "README.md").read_text()
    for png in sorted((ROOT / "figures").glob("*.png")):
        assert f"figures/{png.name}" in readme, png.name


def test_license_is_an_spdx_string_and_setuptools_accepts_it() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    toml = tomllib.loads(text)
    assert toml["project"]["license"] == "MIT"
    # PEP 639 license strings need setuptools >= 77; older ones warn or refuse
    (setuptools,) = [r for r in toml["build-system"]["requires"] if _name(r) == "setuptools"]
    minimum = re.fullmatch(r">=(\d+)(\.\d+)*", _spec(setuptools))
    assert minimum and int(minimum.group(1)) >= 77, setuptools


def test_notebooks_extra_brings_jupyterlab() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(_name(r) == "jupyterlab" for r in extras["notebooks"])
    assert re.search(r"^lab:.*\n\t.*jupyter lab (\$\(LAB_ARGS\) )?notebooks/", (ROOT / "Makefile").read_text(), re.M)


def test_slow_patterns_each_name_a_test_that_exists() -> None:
    from tests.conftest import SLOW_TESTS, is_slow

    assert is_slow("notebooks/04_gc_training.ipynb::")
    assert is_slow("tests/claims/test_registry.py::test_claim_holds_and_control_fails[array_api_strict-float32-gc.P.spectrum]")
    assert not is_slow("tests/claims/test_registry.py::test_claim_holds_and_control_fails[numpy-float32-gc.P.spectrum]")
    assert is_slow("tests/figures/test_figures.py::test_figure_renders_to_identical_bytes_twice[gc_training]")
    for pattern in SLOW_TESTS:
        file = ROOT / pattern.split("::")[0]
        assert list(file.parent.glob(file.name)), pattern
        if "::" in pattern:
            name = re.match(r"[A-Za-z_0-9]+", pattern.split("::")[1].lstrip("*")).group(0)
            assert name in file.read_text(), pattern


def test_make_notebooks_executes_deterministically_with_this_interpreter(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import sys, numpy as np\nprint(sys.executable)"),
        nbformat.v4.new_code_cell("np.arange(3).sum()"),
    ]
    path = tmp_path / "toy.ipynb"
    nbformat.write(nb, path)
    script = ROOT / "tools" / "notebooks.py"
    runs = []
    for _ in range(2):
        done = subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        runs.append(path.read_bytes())
    assert runs[0] == runs[1], "re-executing an unchanged notebook changed the file"
    cells = json.loads(runs[0])["cells"]
    assert "".join(cells[0]["outputs"][0]["text"]).strip() == sys.executable
    assert "".join(cells[1]["outputs"][0]["data"]["text/plain"]) == "np.int64(3)"
    assert "execution" not in cells[0]["metadata"]
