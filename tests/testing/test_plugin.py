"""The pytest plugin: fixtures, --gc-backend, the gpu marker, one registration, the declared entry point."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

USER_TEST = '''
import pytest

def test_xp(xp, dtype):
    assert hasattr(xp, "asarray") and dtype in ("float64", "float32")

@pytest.mark.gpu
def test_gpu_only():
    pass
'''


def _entry_point_installed() -> bool:
    from importlib.metadata import entry_points

    return any(e.value == "gc_theory.testing.plugin" for e in entry_points(group="pytest11"))


#: Load the plugin by name only where the installed entry point does not already load it (pytest refuses both).
LOAD = () if _entry_point_installed() else ("-p", "gc_theory.testing.plugin")


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_user.py").write_text(USER_TEST)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-rs", *args, str(tmp_path)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)


def test_a_users_suite_gets_the_fixtures_and_chooses_backends(tmp_path):
    out = _run(tmp_path, *LOAD, "--gc-backend", "numpy")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 passed" in out.stdout  # numpy x {float64, float32}
    out = _run(tmp_path, *LOAD, "--gc-backend", "numpy", "--gc-backend", "array_api_strict")
    assert "4 passed" in out.stdout, out.stdout


def test_gpu_tests_are_skipped_without_a_device(tmp_path):
    from gc_theory.core.backend import unavailable_reason

    out = _run(tmp_path, *LOAD, "--gc-backend", "numpy")
    if unavailable_reason("cupy") is not None:
        assert "needs a GPU" in out.stdout and "1 skipped" in out.stdout, out.stdout


def test_the_entry_point_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["pytest11"]["gc_theory"] == "gc_theory.testing.plugin"


def test_the_projects_conftest_does_not_register_it_twice():
    # Loading the plugin explicitly (as the entry point does) beside the conftest must not error.
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", *LOAD,
           "--gc-backend", "numpy", "tests/testing/test_plugin.py::test_the_entry_point_is_declared"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert out.returncode == 0 and "1 passed" in out.stdout, out.stdout + out.stderr
