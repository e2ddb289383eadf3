"""The module paths course material imports keep working after the move to one package per area."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import gc_theory
from gc_theory import STABLE_PATHS


@pytest.mark.parametrize("old", sorted(STABLE_PATHS))
def test_a_stable_path_gives_the_objects_of_the_modules_that_hold_them(old: str) -> None:
    view = importlib.import_module(f"gc_theory.{old}")
    targets = [importlib.import_module(f"gc_theory.{t}") for t in STABLE_PATHS[old]]
    names = [n for t in targets for n in t.__all__]
    assert names and sorted(set(names)) == sorted(view.__all__)
    for name in names:
        holder = next(t for t in targets if hasattr(t, name))
        assert getattr(view, name) is getattr(holder, name), f"gc_theory.{old}.{name}"
    assert getattr(gc_theory, old) is view  # reachable as an attribute, as a submodule would be


def test_the_paths_the_readme_shows_import_in_a_fresh_interpreter() -> None:
    code = "\n".join([
        "from gc_theory.goe import THETA, fit_rate",
        "from gc_theory.training import CONFIG, digits_experiment, full_batch_trajectory",
        "from gc_theory.cg import nonlinear_cg",
        "from gc_theory.data import load_digits",
        "from gc_theory.cases import planted_bugs, register_case_factory",
        "import gc_theory.landscape.cg as cg",
        "assert nonlinear_cg is cg.nonlinear_cg",
        "from gc_theory.stochastic import *",
        "assert callable(minibatch_cg)",
    ])  # fmt: skip
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


def test_a_name_missing_from_a_stable_path_says_which_modules_it_reads() -> None:
    import gc_theory.goe as goe

    with pytest.raises(AttributeError, match=r"gc_theory.goe.*view of gc_theory.landscape.random_minima.*'nosuch'"):
        goe.nosuch  # noqa: B018
    with pytest.raises(ImportError):
        importlib.import_module("gc_theory.goe.nosuch")


def test_the_stable_paths_are_views_of_existing_modules_and_not_modules_of_their_own() -> None:
    from pathlib import Path

    root = Path(gc_theory.__file__).parent
    for old, targets in STABLE_PATHS.items():
        assert not (root / f"{old}.py").exists() and not (root / old).is_dir(), f"{old} is a module of its own"
        for target in targets:
            importlib.import_module(f"gc_theory.{target}")
