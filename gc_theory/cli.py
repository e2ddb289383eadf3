"""Command line: ``gc-theory verify | figures | bench``.

Exit codes: 0 success; 1 a claim not verified (or a figure/benchmark failed);
2 a usage error (unknown option, unusable backend, a pattern matching nothing).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .backend import BACKENDS, DTYPES, unavailable_reason
from .registry import closest

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _usage_error(parser: argparse.ArgumentParser, message: str) -> int:
    parser.print_usage(sys.stderr)
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _output_file_problem(path: str) -> str | None:
    """Why `path` cannot be written as a file, checked before any work is done (None when it can)."""
    target = Path(path)
    if target.is_dir():
        return f"{path} is a directory; give a file name"
    parent = target.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot create {path}: {parent} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot write {path}: {parent} is not writable"
    return None


def _no_match(parser: argparse.ArgumentParser, kind: str, pattern: str, near: list[str]) -> int:
    hint = f"; closest: {', '.join(near)}" if near else ""
    return _usage_error(
        parser, f"--only {pattern!r} matches no {kind}{hint} (a pattern is a glob like 'gc.P.*', an id, "
        "or a prefix of whole dotted components like 'gc.P')"
    )


def _verify(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from . import claims
    from .claims._report import format_table, summary_line, write_json, write_list_json

    if args.seed < 0:
        return _usage_error(parser, f"--seed must be >= 0, got {args.seed}")
    if args.json and (problem := _output_file_problem(args.json)):
        return _usage_error(parser, f"--json: {problem}")
    selected = claims.select(args.only)
    if not selected:
        return _no_match(parser, "claim", args.only, claims.closest_ids(args.only))
    if args.list:
        for c in selected:
            print(f"{c.id}\n    {c.statement}\n    source:  {c.source}\n    control: {c.control}")
        if args.json:
            write_list_json(selected, args.json)
        return EXIT_OK
    reason = unavailable_reason(args.backend)
    if reason is not None:
        return _usage_error(parser, f"--backend {args.backend}: {reason}")
    start = time.perf_counter()
    results = claims.run_claims(selected, args.backend, args.dtype, args.seed)
    elapsed = time.perf_counter() - start
    print(format_table(results))
    print()
    print(summary_line(results, elapsed))
    if args.json:
        write_json(results, args.json)
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


def _figures(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from . import figures

    if Path(args.out).exists() and not Path(args.out).is_dir():
        return _usage_error(parser, f"--out {args.out} is a file; give a directory")
    names = figures.select(args.only)
    if not names:
        return _no_match(parser, "figure", args.only, closest(args.only, figures.names()))
    for path in figures.render_all(names, args.out):
        print(path)
    return EXIT_OK


def _bench(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from . import bench

    if args.repeats < 1:
        return _usage_error(parser, f"--repeats must be >= 1, got {args.repeats}")
    if args.json and (problem := _output_file_problem(args.json)):
        return _usage_error(parser, f"--json: {problem}")
    names = bench.select(args.only)
    if not names:
        return _no_match(parser, "benchmark", args.only, closest(args.only, bench.names()))
    ok = bench.run(names, repeats=args.repeats, quick=args.quick, json_path=args.json)
    return EXIT_OK if ok else EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gc-theory",
        description="Checkable theory of deep-learning optimisation.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{verify,figures,bench}")

    verify = sub.add_parser("verify", help="run every claim and its control, print the table")
    verify.add_argument("--backend", choices=BACKENDS, default="numpy", help="array backend (default numpy)")
    verify.add_argument("--dtype", choices=DTYPES, default="float64", help="floating dtype (default float64)")
    verify.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    verify.add_argument("--only", metavar="PATTERN", help="claims to run: a glob (gc.P.*), an id, or a prefix of whole dotted components (gc.P)")
    verify.add_argument("--json", metavar="FILE", help="also write the results (with --list: the claims) as JSON")
    verify.add_argument("--list", action="store_true", help="list the selected claims and exit")
    verify.set_defaults(run=_verify, parser=verify)

    figures = sub.add_parser("figures", help="regenerate every figure")
    figures.add_argument("--out", default="figures", metavar="DIR", help="output directory (default figures/)")
    figures.add_argument("--only", metavar="PATTERN", help="figures to draw: a glob, a name, or a prefix of whole components (projection)")
    figures.set_defaults(run=_figures, parser=figures)

    bench = sub.add_parser("bench", help="run the benchmarks, print their tables")
    bench.add_argument("--only", metavar="PATTERN", help="benchmarks to run: a glob, a name, or a prefix of whole components")
    bench.add_argument("--repeats", type=int, default=7, help="timed repeats per case; the median is quoted")
    bench.add_argument("--quick", action="store_true", help="small sizes only, to smoke-test the harness")
    bench.add_argument("--json", metavar="FILE", help="also save the measurements as JSON")
    bench.set_defaults(run=_bench, parser=bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.run(args, args.parser)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
