"""The classroom notebooks as a reader sees them: committed with their outputs, figures shown, no warnings.

Each notebook is run fresh in a kernel (this is the suite's notebook run), and
the committed copy is read as a forge or nbviewer shows it.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: Notebooks that take long enough to run that `make test-fast` leaves them out.
SLOW = {"04_gc_training.ipynb"}
#: A committed notebook larger than this has picked up SVG, widget state or a huge image.
MAX_BYTES = 1_500_000


def _tools():
    spec = importlib.util.spec_from_file_location("notebook_tools", ROOT / "tools" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _params():
    return [pytest.param(p, id=p.stem, marks=[pytest.mark.slow] if p.name in SLOW else []) for p in NOTEBOOKS]


def _outputs(nb) -> list[tuple[int, dict]]:
    return [(i, o) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" for o in c.get("outputs", [])]


def _images(nb) -> int:
    return sum("image/png" in o.get("data", {}) for _, o in _outputs(nb))


def _problems(nb) -> list[str]:
    """What a reader would trip on: figures shown as text, warnings, errors, heavy outputs."""
    found = []
    for i, o in _outputs(nb):
        data = o.get("data", {})
        text = "".join(data.get("text/plain", ""))
        if text.startswith("<Figure size") and "image/png" not in data:
            found.append(f"cell {i} shows {text!r} instead of the figure")
        if o.get("output_type") == "stream" and o.get("name") == "stderr":
            found.append(f"cell {i} writes to stderr: {''.join(o.get('text', ''))[:200]!r}")
        if o.get("output_type") == "error":
            found.append(f"cell {i} raises {o.get('ename')}: {o.get('evalue')}")
        if "image/svg+xml" in data or "application/vnd.jupyter.widget-view+json" in data:
            found.append(f"cell {i} carries SVG or widget output (keep notebooks small: PNG only)")
    return found


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebook_carries_its_outputs(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    counts = [c.get("execution_count") for c in code]
    assert counts == list(range(1, len(code) + 1)), f"{path.name} is not committed executed top to bottom (run `make notebooks`)"
    assert _images(nb) >= 1, f"{path.name} shows no figure"
    assert _problems(nb) == []
    assert "widgets" not in nb.get("metadata", {})
    assert path.stat().st_size < MAX_BYTES


@pytest.mark.parametrize("path", _params())
def test_notebook_runs_and_shows_every_figure(path: Path) -> None:
    fresh = _tools().execute(path)
    assert _problems(fresh) == []
    committed = json.loads(path.read_text(encoding="utf-8"))
    assert _images(fresh) == _images(committed), f"{path.name}: the committed copy is stale (run `make notebooks`)"
