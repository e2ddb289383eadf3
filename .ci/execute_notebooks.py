"""Execute notebooks in place, deterministically, with this interpreter's kernel.

Usage: python .ci/execute_notebooks.py notebooks/*.ipynb

The kernel is this interpreter's own (ipykernel in the same environment), so a
notebook runs against the installed gc_theory. Outputs are written without
execution timestamps or widget state, and with a fixed hash seed, so running it
twice on the same code gives the same file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

TIMEOUT_S = 600


def execute(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)
    client = NotebookClient(
        nb,
        timeout=TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,  # no timestamps: a re-run on the same code changes nothing
        store_widget_state=False,
    )
    client.execute()
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)


def main(paths: list[str]) -> int:
    if not paths:
        print("usage: execute_notebooks.py NOTEBOOK...", file=sys.stderr)
        return 2
    # The kernel inherits these: fixed hashing and no GUI backend.
    os.environ.setdefault("PYTHONHASHSEED", "0")
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for p in paths:
        print(f"executing {p}", flush=True)
        execute(Path(p))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
