"""An optimiser step with GC against the same step without (SGD-momentum and Adam, ~11.7M parameters).

Usage: python benchmarks/bench_optim.py [--repeats N] [--json FILE]
(the same as `gc-theory bench --only optim_step`).
"""

import sys

from gc_theory.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "--only", "optim_step", *sys.argv[1:]]))
