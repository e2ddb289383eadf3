"""Execute the classroom notebooks in place, deterministically, so the committed copies carry their outputs.

Usage: ``python tools/notebooks.py [NOTEBOOK ...]`` (all of notebooks/ by default);
``make notebooks`` runs it. The tests import :func:`execute` to run a notebook
fresh and compare what a reader would see with the committed copy.

Determinism: the kernel runs with a fixed hash seed and the Agg backend, cell
timing metadata is not recorded, and figures are written as PNG without a
software or date stamp, so the same code and libraries give the same file.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TIMEOUT_S = 600


def execute(path: str | os.PathLike[str]):  # -> nbformat.NotebookNode
    """Run every cell of the notebook at `path` in a fresh kernel; returns the executed notebook."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    env = {"PYTHONHASHSEED": "0", "MPLBACKEND": "Agg", "TQDM_DISABLE": "1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        client = NotebookClient(
            nb, timeout=TIMEOUT_S, kernel_name="python3", record_timing=False, store_widget_state=False,
            resources={"metadata": {"path": str(Path(path).resolve().parent)}},
        )  # fmt: skip
        client.execute()
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = _coalesce_streams(cell.outputs)
    return nb


def _coalesce_streams(outputs: list) -> list:
    """Join consecutive stdout (or stderr) chunks: how a kernel splits a cell's prints depends on timing."""
    merged: list = []
    for out in outputs:
        last = merged[-1] if merged else None
        if (out.get("output_type") == "stream" and last is not None and last.get("output_type") == "stream"
                and last.get("name") == out.get("name")):  # fmt: skip
            last["text"] = "".join(last["text"]) + "".join(out["text"])
        else:
            merged.append(out)
    return merged


def write(nb, path: str | os.PathLike[str]) -> None:
    """Write `nb` to `path` atomically (a temporary file in the same folder, then a rename)."""
    import nbformat

    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted(NOTEBOOKS.glob("*.ipynb"))
    for path in paths:
        print(f"executing {path}", flush=True)
        write(execute(path), path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
