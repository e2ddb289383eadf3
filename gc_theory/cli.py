"""Command line: ``gc-theory verify | figures | bench``.

Exit codes: 0 success; 1 a claim not verified (or a figure/benchmark failed);
2 a usage error (a bad option value, an unusable backend, an output path that
cannot be written, a pattern matching nothing), reported in one line before
any work starts.

``--only PATTERN`` means the same for claims, figures and benchmarks: a glob
(``gc.P.*``), an exact name, or a dotted prefix of whole components (``gc.P``
selects ``gc.P.symmetric``, not ``gc.Pfoo``); see :mod:`gc_theory.core.registry`.
"""

from __future__ import annotations

import argparse
import math
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .core.backend import BACKENDS, DTYPES, unavailable_reason
from .core.io import not_regular_reason

__all__ = ["add_claim_options", "backend_error", "build_parser", "count", "json_error", "main", "selected_claims"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _usage_error(parser: argparse.ArgumentParser, message: str) -> int:
    parser.print_usage(sys.stderr)
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _unwritable(path: str) -> str | None:
    """Why an output file cannot be written at `path` (None when it can), checked before any work."""
    target = Path(path)
    if (why := not_regular_reason(target)) is not None:
        return why
    # The file is written beside itself and renamed, so its nearest existing
    # folder must accept new files (missing folders are created).
    folder = target.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is not a directory"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot create files in {folder}"
    if folder == target.parent:
        # Permission bits do not tell (root passes os.access; /proc refuses
        # everyone): create and remove a probe file where the output will go.
        try:
            fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".probe")
        except OSError as exc:
            return f"cannot create files in {folder} ({exc.strerror})"
        os.close(fd)
        os.unlink(probe)
    return None


def _select(registry, patterns: Sequence[str] | None) -> tuple[list[str], str | None]:  # noqa: ANN001
    """Names selected by the union of `patterns` (all when none), in registry order, or the first unmatched pattern."""
    if not patterns:
        return registry.select(None), None
    chosen: set[str] = set()
    for pattern in patterns:
        hit = registry.select(pattern)
        if not hit:
            return [], pattern
        chosen.update(hit)
    return [n for n in registry.names() if n in chosen], None


ONLY_HELP = (
    "select by a glob (gc.P.*), an exact {0}, or a dotted prefix of whole components "
    "(gc.P selects gc.P.symmetric, not gc.Pfoo); repeat to select several"
)


def add_claim_options(parser: argparse.ArgumentParser) -> None:
    """The options every command that runs claims shares: ``--backend``, ``--dtype``, ``--only``.

    Shared with ``tools/seed_sweep.py`` so that both refuse the same values the same way.
    """
    parser.add_argument("--backend", choices=BACKENDS, default="numpy", help="array backend (default numpy)")
    parser.add_argument("--dtype", choices=DTYPES, default="float64", help="floating dtype (default float64)")
    parser.add_argument("--only", metavar="PATTERN", action="append", help=ONLY_HELP.format("claim id"))


def selected_claims(args: argparse.Namespace, parser: argparse.ArgumentParser) -> tuple[list, int | None]:
    """The claims ``--only`` selects, or the usage error's exit code when a pattern matches nothing."""
    from . import claims

    ids, unmatched = _select(claims.CLAIMS, args.only)
    if unmatched is not None:
        return [], _usage_error(parser, f"--only {claims.CLAIMS.no_match_message(unmatched)}")
    return [claims.get_claim(i) for i in ids], None


def backend_error(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int | None:
    """The usage error's exit code when ``--backend`` cannot be used on this machine, else None."""
    reason = unavailable_reason(args.backend)
    if reason is not None:
        return _usage_error(parser, f"--backend {args.backend}: {reason}")
    return None


def json_error(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int | None:
    """The usage error's exit code when ``--json FILE`` cannot be written, checked before any work; else None."""
    if args.json and (why := _unwritable(args.json)):
        return _usage_error(parser, f"--json {args.json}: {why}")
    return None


def _verify(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from . import claims
    from .claims._report import format_markdown, format_table, summary_line, write_json

    selected, error = selected_claims(args, parser)
    if error is None:
        error = json_error(args, parser)
    if error is not None:
        return error
    if args.list:
        if args.json:
            _write_listing(selected, args.json)
        for c in selected:
            print(f"{c.id}\n    {c.statement}\n    source:  {c.source}\n    control: {c.control}")
        return EXIT_OK
    if (error := backend_error(args, parser)) is not None:
        return error
    start = time.perf_counter()
    results = claims.run_claims(selected, args.backend, args.dtype, args.seed, jobs=args.jobs)
    elapsed = time.perf_counter() - start
    print(format_markdown(results) if args.format == "markdown" else format_table(results))
    print()
    print(summary_line(results, elapsed))
    if args.json:
        write_json(results, args.json)
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


def _write_listing(selected: Sequence[object], path: str) -> None:
    from .core.io import atomic_write_text

    keys = ("id", "statement", "source", "control", "runs_on")
    listing = [{k: getattr(c, k) for k in keys} for c in selected]
    atomic_write_text(path, json.dumps(listing, indent=2) + "\n")


def _figures(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from . import figures

    names, unmatched = _select(figures.FIGURES, args.only)
    if unmatched is not None:
        return _usage_error(parser, f"--only {figures.FIGURES.no_match_message(unmatched)}")
    if args.list:
        print("\n".join(sorted(names)))
        return EXIT_OK
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        return _usage_error(parser, f"--out {args.out}: exists and is not a directory")
    if why := _unwritable(str(out / "probe.png")):
        return _usage_error(parser, f"--out {args.out}: {why}")
    formats = args.format or ["png"]
    if bad := [f for f in formats if f not in figures.FORMATS]:
        return _usage_error(parser, f"--format {bad[0]}: choose from {', '.join(figures.FORMATS)}")
    if args.width is not None and not (math.isfinite(args.width) and args.width > 0):
        return _usage_error(parser, f"--width {args.width:g}: must be a finite number of inches > 0")
    try:
        figures.resolve_style(args.style)  # checked before anything is drawn
    except ValueError as err:
        return _usage_error(parser, f"--{err}")
    for path in figures.render_all(sorted(names), args.out, formats=formats, style_spec=args.style, width=args.width):
        print(path)
    return EXIT_OK


def _bench(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from . import bench

    names, unmatched = _select(bench.BENCHMARKS, args.only)
    if unmatched is not None:
        return _usage_error(parser, f"--only {bench.BENCHMARKS.no_match_message(unmatched)}")
    if args.list:
        print("\n".join(sorted(names)))
        return EXIT_OK
    if (error := json_error(args, parser)) is not None:
        return error
    reports = bench.run(sorted(names), repeats=args.repeats, quick=args.quick, json_path=args.json)
    missed = sum(len(r.missed) for r in reports)
    stated = sum(len(r.targets) for r in reports)
    print(f"{len(reports)} benchmarks ran; {stated - missed} of {stated} targets met"
          + (f", {missed} target{'s' if missed != 1 else ''} missed" if missed else ""))  # fmt: skip
    # Every benchmark ran: a missed target is reported above; it fails the run only when asked.
    return EXIT_FAILED if args.strict and missed else EXIT_OK


def count(minimum: int):  # noqa: ANN202
    """An argparse type: an integer >= `minimum`, refused at parse time (exit 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {value}")
        return value

    parse.__name__ = "int"
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gc-theory",
        description="Checkable theory of deep-learning optimisation.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{verify,figures,bench}")

    verify = sub.add_parser("verify", help="run every claim and its control, print the table")
    add_claim_options(verify)
    verify.add_argument("--seed", type=count(0), default=0, help="seed of every random draw, >= 0 (default 0)")
    verify.add_argument(
        "-j", "--jobs", type=count(1), default=os.cpu_count() or 1, metavar="N",
        help=f"run claims in N worker processes, >= 1 (default: all cores, {os.cpu_count() or 1} here); "
        "the results do not depend on N",
    )  # fmt: skip
    verify.add_argument("--json", metavar="FILE", help="also write the results (with --list: the claims) as JSON")
    verify.add_argument("--list", action="store_true", help="list the selected claims and exit")
    verify.add_argument(
        "--format", choices=("table", "markdown"), default="table", help="table (default) or a Markdown pipe table"
    )
    verify.set_defaults(run=_verify, parser=verify)

    figures = sub.add_parser("figures", help="regenerate every figure")
    figures.add_argument("--out", default="figures", metavar="DIR", help="output directory (default figures/)")
    figures.add_argument(
        "--only", metavar="PATTERN", action="append",
        help="select figures by a glob (gc_*), an exact figure name, or a dotted prefix of whole components; "
        "repeat to select several (see --list)",
    )  # fmt: skip
    figures.add_argument("--list", action="store_true", help="list the selected figure names and exit")
    figures.add_argument(
        "--format",
        action="append",
        metavar="FMT",
        help="file format: png, pdf or svg; repeat for several (default png). PDF and SVG carry no date, so reruns write the same bytes",
    )
    figures.add_argument(
        "--style",
        metavar="NAME_OR_PATH",
        help="matplotlib style: the package style by default, 'none' for matplotlib's defaults, "
        "a style name (e.g. seaborn-v0_8-paper) or the path of an .mplstyle file",
    )
    figures.add_argument(
        "--width",
        type=float,
        metavar="INCHES",
        help="figure width in inches, e.g. 3.3 for one column; the height scales with it (default: each figure's own size)",
    )
    figures.set_defaults(run=_figures, parser=figures)

    bench = sub.add_parser("bench", help="run the benchmarks, print their tables")
    bench.add_argument(
        "--only", metavar="PATTERN", action="append",
        help="select benchmarks by a glob (c*), an exact benchmark name (centralize), or a dotted prefix of whole "
        "components; repeat to select several (see --list)",
    )  # fmt: skip
    bench.add_argument("--list", action="store_true", help="list the selected benchmark names and exit")
    bench.add_argument(
        "--strict", action="store_true",
        help="exit 1 when a speed target is missed (default: report it in the table and JSON, exit 0)",
    )  # fmt: skip
    bench.add_argument("--repeats", type=count(1), default=7, help="timed repeats per case, >= 1; the median is quoted")
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
