"""A pytest plugin: the fixtures ``backend``, ``xp`` and ``dtype``, the option ``--gc-backend`` and the marker ``gpu``.

Installed with the package (entry point ``pytest11``), or loaded with
``pytest -p gc_theory.testing.plugin``. A test that takes ``xp`` runs once per
usable backend (NumPy, array_api_strict, CuPy where a GPU answers), or once
per ``--gc-backend NAME`` given (repeatable); one that takes ``dtype`` runs in
float64 and float32. Backends that cannot be used here are skipped with the
reason; ``@pytest.mark.gpu`` tests are skipped without a CUDA device.
"""

from __future__ import annotations

import pytest

from gc_theory.core.backend import BACKENDS, DTYPES, get_namespace, unavailable_reason


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--gc-backend", action="append", default=None, choices=BACKENDS, metavar="NAME",
                     help=f"array backend for the xp/backend fixtures (repeatable; one of {', '.join(BACKENDS)}; "
                          "default: every usable one)")  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "gpu: needs a CUDA device (skipped without one)")


def _param(name: str) -> object:
    reason = unavailable_reason(name)
    marks = [pytest.mark.gpu] if name == "cupy" else []
    if reason is not None:
        marks.append(pytest.mark.skip(reason=f"backend {name} unavailable: {reason}"))
    return pytest.param(name, marks=marks, id=name)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        names = metafunc.config.getoption("--gc-backend") or list(BACKENDS)
        metafunc.parametrize("backend", [_param(n) for n in dict.fromkeys(names)])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = unavailable_reason("cupy")
    if reason is None:
        return
    for item in items:
        if item.get_closest_marker("gpu") is not None:
            item.add_marker(pytest.mark.skip(reason=f"needs a GPU: {reason}"))


@pytest.fixture
def xp(backend: str):
    """The array-API namespace of the backend under test."""
    return get_namespace(backend)


@pytest.fixture(params=list(DTYPES))
def dtype(request: pytest.FixtureRequest) -> str:
    """Each floating dtype the toolkit verifies in, by name."""
    return request.param
