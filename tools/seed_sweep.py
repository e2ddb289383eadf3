"""Run every claim over many seeds and report, per claim, its closest call on either side.

Usage: ``python tools/seed_sweep.py [--seeds N] [--first S] [--backend B] [--dtype D] [--only PATTERN] [--json FILE]``

A claim's default seed shows one draw. A tolerance that is derived right holds
at every seed, and a control placed right misses by the registry's margin at
every seed; this sweep looks for the seed where either stops being true. It
prints, for each claim, the largest residual/tolerance of the claim over the
seeds and the smallest factor by which its control missed, with the seeds
where the claim was not verified.

The options mean what they mean to ``gc-theory verify`` and are checked by the
same code (:mod:`gc_theory.cli`): a pattern that matches nothing, an unusable
backend, a dtype other than float64/float32 or a ``--json`` path that cannot be
written is a usage error (exit 2) before any claim runs. Exit 1 when a claim
was not verified at some seed, 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gc_theory import claims  # noqa: E402
from gc_theory.cli import EXIT_FAILED, EXIT_OK, add_claim_options, backend_error, count, json_error, selected_claims  # noqa: E402
from gc_theory.core.io import atomic_write_text  # noqa: E402


def _ratio(residual: float, tolerance: float) -> float:
    if tolerance > 0:
        return residual / tolerance
    return 0.0 if residual == 0 else math.inf


def sweep(selected: Sequence[claims.Claim], seeds: range, backend: str, dtype: str) -> list[dict]:
    """One row per claim: its worst residual/tolerance, its control's closest miss, the seeds where it failed."""
    rows = []
    for claim in selected:
        worst, closest, failed = 0.0, math.inf, []
        for seed in seeds:
            r = claim.run(backend=backend, dtype=dtype, seed=seed)
            worst = max(worst, _ratio(r.residual, r.tolerance) if r.error is None else math.inf)
            closest = min(closest, _ratio(r.control_residual, r.control_tolerance) if r.error is None else 0.0)
            if not r.ok:
                failed.append(seed)
        rows.append({"id": claim.id, "seeds": list(seeds), "worst_ratio": worst, "closest_control": closest,
                     "failed_seeds": failed})  # fmt: skip
        print(f"{claim.id:40s} worst {worst:9.3g}  control >= {closest:9.3g}x  {'FAILED at ' + str(failed) if failed else ''}",
              flush=True)  # fmt: skip
    return rows


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seed_sweep.py",
        description=__doc__.splitlines()[0],
        epilog="Exit codes: 0 every claim verified at every seed; 1 some claim not verified; 2 a usage error.",
    )
    parser.add_argument("--seeds", type=count(1), default=20, metavar="N", help="how many seeds to run, >= 1 (default 20)")
    parser.add_argument("--first", type=count(0), default=0, metavar="S", help="the first seed, >= 0 (default 0)")
    add_claim_options(parser)
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON (infinities written as null)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    selected, error = selected_claims(args, parser)
    for check in (json_error, backend_error):
        if error is None:
            error = check(args, parser)
    if error is not None:
        return error
    rows = sweep(selected, range(args.first, args.first + args.seeds), args.backend, args.dtype)
    if args.json:
        plain = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()} for r in rows]
        atomic_write_text(args.json, json.dumps(plain, indent=1) + "\n")
    return EXIT_FAILED if any(r["failed_seeds"] for r in rows) else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
