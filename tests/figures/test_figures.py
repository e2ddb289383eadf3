"""Figures: every registered figure draws, deterministically, and files are written atomically."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from matplotlib.testing.compare import compare_images

from gc_theory import figures
from gc_theory.cli import main

NAMES = figures.names()
COMMITTED = Path(__file__).resolve().parents[2] / "figures"
#: RMS difference (0-255 scale) below which two renders count as the same picture.
RMS_TOLERANCE = 2.0


@pytest.fixture
def train_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both renders share one digits experiment: training's own determinism is tested in test_training."""
    import gc_theory.figures.training as training_figure

    monkeypatch.setattr(training_figure, "digits_experiment", functools.cache(training_figure.digits_experiment))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.usefixtures("train_once")
def test_figure_renders_to_identical_bytes_twice(name: str, tmp_path: Path) -> None:
    first = figures.render(name, tmp_path / "a").read_bytes()
    second = figures.render(name, tmp_path / "b").read_bytes()
    assert first[:8] == b"\x89PNG\r\n\x1a\n" and len(first) > 10_000
    assert first == second


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.usefixtures("train_once")
def test_committed_figure_matches_a_fresh_render(name: str, tmp_path: Path) -> None:
    """The PNG in figures/ is what `gc-theory figures` draws today (matplotlib's own image comparison).

    The tolerance is a small RMS over 0-255 pixel values: it absorbs anti-aliasing
    differences between FreeType builds, not a moved line or a changed label.
    """
    committed = COMMITTED / f"{name}.png"
    assert committed.is_file(), f"figures/{name}.png is missing: run `gc-theory figures`"
    fresh = figures.render(name, tmp_path)
    failure = compare_images(str(committed), str(fresh), tol=RMS_TOLERANCE)
    assert failure is None, f"figures/{name}.png is stale (run `gc-theory figures`): {failure}"


def test_committed_figures_are_exactly_the_registered_ones() -> None:
    assert sorted(p.stem for p in COMMITTED.glob("*.png")) == NAMES


def test_an_interrupted_render_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = figures.render(NAMES[0], tmp_path)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("matplotlib.figure.Figure.savefig", broken)
    with pytest.raises(KeyboardInterrupt):
        figures.render(NAMES[0], tmp_path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_cli_figures_writes_the_selected_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["figures", "--out", str(tmp_path), "--only", "projection_geometry"]) == 0
    assert (tmp_path / "projection_geometry.png").is_file()
    assert "projection_geometry.png" in capsys.readouterr().out
