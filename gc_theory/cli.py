"""Command line: ``gc-theory verify | figures | bench``.

Exit codes: 0 success; 1 a claim not verified (or a figure/benchmark failed);
2 a usage error (unknown option, unusable backend, a pattern matching nothing).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from .backend import BACKENDS, DTYPES, unavailable_reason

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _usage_error(parser: argparse.ArgumentParser, message: str) -> int:
    parser.print_usage(sys.stderr)
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _verify(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from . import claims
    from .claims._report import format_table, summary_line, write_json

    selected = claims.select(args.only)
    if not selected:
        return _usage_error(parser, f"--only {args.only!r} matches no claim (try `gc-theory verify --list`)")
    if args.list:
        for c in selected:
            print(f"{c.id}\n    {c.statement}\n    source:  {c.source}\n    control: {c.control}")
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

    names = figures.select(args.only)
    if not names:
        return _usage_error(parser, f"--only {args.only!r} matches no figure; known: {', '.join(figures.names())}")
    for path in figures.render_all(names, args.out):
        print(path)
    return EXIT_OK


def _bench(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from . import bench

    names = bench.select(args.only)
    if not names:
        return _usage_error(parser, f"--only {args.only!r} matches no benchmark; known: {', '.join(bench.names())}")
    ok = bench.run(names, repeats=args.repeats, quick=args.quick, json_path=args.json)
    return EXIT_OK if ok else EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gc-theory",
        description="Checkable theory of deep-learning optimisation.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{verify,figures,bench}")

    verify = sub.add_parser("verify", help="run every claim and its control, print the table")
    verify.add_argument("--backend", choices=BACKENDS, default="numpy", help="array backend (default numpy)")
    verify.add_argument("--dtype", choices=DTYPES, default="float64", help="floating dtype (default float64)")
    verify.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    verify.add_argument("--only", metavar="PATTERN", help="claim ids matching a glob, or starting with a prefix")
    verify.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    verify.add_argument("--list", action="store_true", help="list the selected claims and exit")
    verify.set_defaults(run=_verify, parser=verify)

    figures = sub.add_parser("figures", help="regenerate every figure")
    figures.add_argument("--out", default="figures", metavar="DIR", help="output directory (default figures/)")
    figures.add_argument("--only", metavar="PATTERN", help="figure names matching a glob or prefix")
    figures.set_defaults(run=_figures, parser=figures)

    bench = sub.add_parser("bench", help="run the benchmarks, print their tables")
    bench.add_argument("--only", metavar="PATTERN", help="benchmark names matching a glob or prefix")
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
