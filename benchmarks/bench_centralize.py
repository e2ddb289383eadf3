"""centralize() against a copy, the two-pass expression, P @ G and torch.

Usage: python benchmarks/bench_centralize.py [--repeats N] [--json FILE]
(the same as `gc-theory bench --only centralize`).
"""

import sys

from gc_theory.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "--only", "centralize", *sys.argv[1:]]))
