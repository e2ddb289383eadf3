"""Figures in a paper: formats, styles, widths, the registered style and data(name)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from gc_theory import figures
from gc_theory.cli import main
from gc_theory.figures.projection import SIZES, draw_projection_geometry, projection_geometry_data

FAST = "projection_geometry"  # draws in well under a second


@pytest.mark.parametrize("fmt", ["pdf", "svg"])
def test_pdf_and_svg_render_to_identical_bytes_twice(fmt: str, tmp_path: Path) -> None:
    first = figures.render(FAST, tmp_path / "a", formats=fmt).read_bytes()
    second = figures.render(FAST, tmp_path / "b", formats=fmt).read_bytes()
    assert first == second
    assert first.startswith(b"%PDF" if fmt == "pdf" else b"<?xml")


def test_pdf_and_svg_carry_no_date(tmp_path: Path) -> None:
    pdf = figures.render(FAST, tmp_path, formats="pdf").read_bytes()
    svg = figures.render(FAST, tmp_path, formats="svg").read_text()
    assert b"/CreationDate" not in pdf and b"/Producer" not in pdf
    assert "<dc:date>" not in svg


def test_the_svg_hash_salt_is_what_fixes_the_ids(tmp_path: Path) -> None:
    """Control: without the fixed salt matplotlib salts ids with a random UUID, so two saves differ."""
    fig = figures.get(FAST)()
    saves = []
    for i in range(2):
        with matplotlib.rc_context({"svg.hashsalt": None}):
            path = tmp_path / f"{i}.svg"
            fig.savefig(path, format="svg", metadata={"Date": None})
            saves.append(path.read_bytes())
    assert saves[0] != saves[1]


def test_several_formats_in_one_call(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["figures", "--out", str(tmp_path), "--only", FAST, "--format", "png", "--format", "svg"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{FAST}.png", f"{FAST}.svg"]
    out = capsys.readouterr().out
    assert f"{FAST}.png" in out and f"{FAST}.svg" in out


def _png_width_px(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[16:20], "big")


def test_width_shrinks_the_figure(tmp_path: Path) -> None:
    wide = figures.render(FAST, tmp_path / "wide", width=9.6)
    narrow = figures.render(FAST, tmp_path / "narrow", width=4.8)
    # The tight crop keeps text at its point size, so the files shrink by less than the 2x asked for.
    assert _png_width_px(narrow) < 0.9 * _png_width_px(wide)


def test_style_none_and_a_file_change_the_picture(tmp_path: Path) -> None:
    package = figures.render(FAST, tmp_path / "pkg", formats="svg").read_bytes()
    plain = figures.render(FAST, tmp_path / "none", formats="svg", style_spec="none").read_bytes()
    style_file = tmp_path / "mine.mplstyle"
    style_file.write_text("axes.facecolor: 123456\n")
    mine = figures.render(FAST, tmp_path / "mine", formats="svg", style_spec=style_file).read_text()
    assert package != plain
    assert "#123456" in mine


def test_the_package_style_is_registered_with_matplotlib() -> None:
    assert figures.STYLE_NAME in plt.style.available
    with plt.style.context("default"), plt.style.context("gc_theory"):
        assert matplotlib.rcParams["savefig.dpi"] == 150
        assert matplotlib.rcParams["axes.spines.top"] is False
    plt.style.use("gc_theory")
    try:
        assert matplotlib.rcParams["figure.dpi"] == 110
    finally:
        plt.style.use("default")
    assert matplotlib.rcParams["figure.dpi"] != 110


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--format", "jpg"], "--format jpg: choose from png, pdf, svg"),
        (["--width", "0"], "--width 0: must be"),
        (["--width", "-2"], "--width -2: must be"),
        (["--width", "nan"], "--width nan: must be"),
        (["--style", "no-such-style"], "available: none, "),
    ],
)
def test_bad_options_are_usage_errors_before_anything_renders(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["figures", "--out", str(out), "--only", FAST, *argv]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_figures_help_documents_the_new_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["figures", "--help"])
    assert stop.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for words in ("png, pdf or svg", "'none' for matplotlib's defaults", ".mplstyle", "width in inches"):
        assert words in text


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"formats": "jpg"}, ValueError, "formats: 'jpg' is not one of png, pdf, svg"),
        ({"formats": []}, ValueError, "formats: empty"),
        ({"width": math.inf}, ValueError, "width: must be a finite"),
        ({"width": "3"}, TypeError, "width: expected a number"),
        ({"style_spec": "nope"}, ValueError, "style 'nope'"),
    ],
)
def test_render_rejects_bad_arguments(kwargs: dict, error: type, message: str, tmp_path: Path) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(")):
        figures.render(FAST, tmp_path, **kwargs)


def test_data_is_plain_numpy_with_the_documented_keys() -> None:
    d = figures.data(FAST)
    expected = {"g", "Pg", "e", *(f"gap_{side}_M{M}" for M in SIZES for side in ("lhs", "rhs"))}
    assert set(d) == expected
    assert all(type(v) is np.ndarray for v in d.values())
    # What the figure shows: P removes the mean, and the norm gap is M * mean^2.
    np.testing.assert_allclose(d["Pg"].sum(axis=1), 0.0, atol=8 * np.finfo(float).eps * np.abs(d["g"]).sum())
    for M in SIZES:
        np.testing.assert_allclose(d[f"gap_lhs_M{M}"], d[f"gap_rhs_M{M}"], rtol=1e-9)


def test_the_drawn_artists_are_the_data() -> None:
    d = figures.data(FAST)
    fig = figures.get(FAST)()
    gap = fig.axes[1]
    lines = gap.get_lines()
    for line, M in zip(lines, SIZES):
        np.testing.assert_array_equal(line.get_xdata(), d[f"gap_rhs_M{M}"])
        np.testing.assert_array_equal(line.get_ydata(), d[f"gap_lhs_M{M}"])
    dotted = [ln for ln in fig.axes[0].get_lines() if ln.get_linestyle() == ":"]
    for line, gi, pi in zip(dotted, d["g"], d["Pg"], strict=True):
        np.testing.assert_array_equal(np.asarray(line.get_data_3d()).T, np.stack([gi, pi]))


def test_drawing_other_data_draws_other_artists() -> None:
    """Control: the artists follow the data handed in, so the check above can fail."""
    d = projection_geometry_data()
    d["gap_rhs_M3"] = d["gap_rhs_M3"] * 2
    line = draw_projection_geometry(d).axes[1].get_lines()[0]
    assert not np.array_equal(line.get_xdata(), figures.data(FAST)["gap_rhs_M3"])


def test_data_of_a_figure_without_a_data_function_is_a_clear_error() -> None:
    @figures.figure("test_only_without_data")
    def bare():
        from matplotlib.figure import Figure

        return Figure()

    try:
        assert not figures.has_data("test_only_without_data")
        with pytest.raises(LookupError, match="'test_only_without_data' has no data function; figures with data: .*projection_geometry"):
            figures.data("test_only_without_data")
    finally:
        figures.FIGURES._entries.pop("test_only_without_data", None)


def test_data_of_an_unknown_figure_names_the_closest() -> None:
    with pytest.raises(KeyError, match="projection_geometry"):
        figures.data("projection_geometri")
