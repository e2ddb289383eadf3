"""Shared fixtures and hypothesis profiles; ``backend``, ``xp``, ``dtype`` come from gc_theory.testing.plugin.

``HYPOTHESIS_PROFILE=ci`` (set by .ci/run) makes every property test
derandomised, so CI is reproducible; the default ``dev`` profile explores.
"""

from __future__ import annotations

import fnmatch
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings



def pytest_configure(config: pytest.Config) -> None:
    # The installed package registers the plugin through its pytest11 entry point;
    # an environment that predates it (or runs from a checkout) gets it here, once.
    if not config.pluginmanager.has_plugin("gc_theory.testing.plugin") and not any(
        getattr(p, "__name__", "") == "gc_theory.testing.plugin" for p in config.pluginmanager.get_plugins()
    ):
        config.pluginmanager.import_plugin("gc_theory.testing.plugin")


settings.register_profile(
    "ci", derandomize=True, max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile("dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

#: Tests that take seconds each (measured with ``--durations``), as node-id globs;
#: ``make test-fast`` (``-m "not slow"``) leaves them out, ``make test`` runs them.
SLOW_TESTS = (
    "notebooks/04_*.ipynb*",  # trains a network on the digits data
    "tests/figures/test_figures.py::test_figure_renders_to_identical_bytes_twice[[]gc_training[]]",
    "tests/claims/test_registry.py::test_claim_holds_and_control_fails[[]array_api_strict-*",  # the strict-backend sweep
    "tests/claims/test_registry.py::test_the_whole_registry_writes_json_of_plain_types[[]array_api_strict-*",
    "tests/claims/test_registry.py::test_gc_claims_hold_for_other_seeds*",
    "tests/optim/test_torch.py::*trajector*",  # torch.optim trajectories
    "tests/testing/test_plugin.py::test_*",  # each starts a pytest subprocess
)


def is_slow(nodeid: str) -> bool:
    """Whether the test `nodeid` is one of :data:`SLOW_TESTS`."""
    return any(fnmatch.fnmatchcase(nodeid, pattern) for pattern in SLOW_TESTS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if is_slow(item.nodeid):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240531)
