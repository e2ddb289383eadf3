"""``python -m gc_theory`` runs the command line (see :mod:`gc_theory.cli`)."""

import sys

from .cli import main

sys.exit(main())
