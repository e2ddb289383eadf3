"""Shared fixtures: array backends, dtypes, and hypothesis profiles.

``HYPOTHESIS_PROFILE=ci`` (set by .ci/run) makes every property test
derandomised, so CI is reproducible; the default ``dev`` profile explores.
"""

from __future__ import annotations

import fnmatch
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from gc_theory.core.backend import BACKENDS, get_namespace, unavailable_reason

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
)


def is_slow(nodeid: str) -> bool:
    """Whether the test `nodeid` is one of :data:`SLOW_TESTS`."""
    return any(fnmatch.fnmatchcase(nodeid, pattern) for pattern in SLOW_TESTS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if is_slow(item.nodeid):
            item.add_marker(pytest.mark.slow)


def _backend_param(name: str) -> object:
    reason = unavailable_reason(name)
    marks = [pytest.mark.gpu] if name == "cupy" else []
    if reason is not None:
        marks.append(pytest.mark.skip(reason=f"backend {name} unavailable: {reason}"))
    return pytest.param(name, marks=marks, id=name)


@pytest.fixture(params=[_backend_param(name) for name in BACKENDS])
def backend(request: pytest.FixtureRequest) -> str:
    """Every backend usable here: numpy, array_api_strict, and cupy where a GPU is visible."""
    return request.param


@pytest.fixture
def xp(backend: str):
    """The array-API namespace of each usable backend."""
    return get_namespace(backend)


@pytest.fixture(params=["float64", "float32"])
def dtype(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240531)
