"""The verify table and its JSON form."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence

from gc_theory.core.io import atomic_write_text
from ._core import CONTROL_MARGIN, ClaimResult

__all__ = ["HEADER", "format_markdown", "format_table", "rows", "summary_line", "write_json"]

#: The columns of the verify table, in both of its formats.
HEADER = ("claim", "backend", "dtype", "residual", "tolerance", "res/eps", "result", "control")


def _num(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "nan"
    return "0" if x == 0 else f"{x:.2e}"


def _eps_units(r: ClaimResult) -> str:
    if r.dtype == "exact":
        return "exact"
    if r.residual_eps is None:
        return "-"
    if not math.isfinite(r.residual_eps):
        return "nan"
    return f"{r.residual_eps:.1f}" if r.residual_eps < 1e4 else f"{r.residual_eps:.1e}"


def _outcome(r: ClaimResult) -> str:
    if r.error:
        return "ERROR"
    return "PASS" if r.passed else "FAIL"


def _control(r: ClaimResult) -> str:
    if r.error:
        return "-"
    if r.control_failed:
        ratio = r.control_residual / r.control_tolerance if r.control_tolerance else math.inf
        return f"fails ({ratio:.1e}x tol)" if math.isfinite(ratio) else "fails"
    return f"HOLDS (must fail by {CONTROL_MARGIN:g}x)"


def rows(results: Sequence[ClaimResult]) -> list[tuple[str, ...]]:
    """The cells of the verify table, one tuple per result, in :data:`HEADER` order."""
    return [
        (r.id, r.backend, r.dtype, _num(r.residual), _num(r.tolerance), _eps_units(r), _outcome(r), _control(r))
        for r in results
    ]


def format_markdown(results: Sequence[ClaimResult]) -> str:
    """The verify table as a Markdown pipe table (what the README's excerpt is made of)."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows(results)]
    return "\n".join(lines)


def format_table(results: Sequence[ClaimResult]) -> str:
    """A fixed-width table: one row per claim, then the detail of anything not verified."""
    header = HEADER
    rows_ = rows(results)
    widths = [max(len(h), *(len(row[i]) for row in rows_)) if rows_ else len(h) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    out = [line(header), line(tuple("-" * w for w in widths))] + [line(row) for row in rows_]
    problems = [r for r in results if not r.ok]
    if problems:
        out.append("")
        for r in problems:
            out.append(f"{r.id}: {r.statement}")
            if r.error:
                out.append(f"  error: {r.error}")
            elif not r.passed:
                out.append(f"  residual {_num(r.residual)} > tolerance {_num(r.tolerance)} at {r.detail}")
            if not r.error and not r.control_failed:
                out.append(
                    f"  control ({r.control}) did not fail: residual {_num(r.control_residual)}, "
                    f"tolerance {_num(r.control_tolerance)}"
                )
    return "\n".join(out)


def summary_line(results: Sequence[ClaimResult], seconds: float) -> str:
    verified = sum(r.ok for r in results)
    bad = len(results) - verified
    status = "all verified" if bad == 0 else f"{bad} NOT verified"
    return f"{len(results)} claims, {verified} verified, {status} ({seconds:.2f} s)"


def write_json(results: Sequence[ClaimResult], path: str | os.PathLike[str]) -> None:
    """Write the results as a JSON list of objects, atomically (NaN written as null)."""
    atomic_write_text(path, json.dumps([r.to_dict() for r in results], indent=2) + "\n")
