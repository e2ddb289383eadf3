"""Release files: the licence the metadata names, a valid CITATION.cff, py.typed shipped, the version from metadata."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_license_file_is_the_mit_text() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "the gc-theory authors" in text
    assert "THE SOFTWARE IS PROVIDED \"AS IS\"" in text


def test_citation_cff_has_the_required_keys_of_cff_1_2_0() -> None:
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors"):
        assert cff[key], key
    assert all("name" in a or "family-names" in a for a in cff["authors"])


def test_py_typed_is_package_data() -> None:
    assert (ROOT / "gc_theory" / "py.typed").is_file()
    assert '"py.typed"' in (ROOT / "pyproject.toml").read_text()


def test_version_is_a_string_from_the_metadata_or_the_fallback() -> None:
    import gc_theory

    assert isinstance(gc_theory.__version__, str) and gc_theory.__version__[0].isdigit()
