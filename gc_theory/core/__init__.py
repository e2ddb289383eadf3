"""The mechanisms every area uses; nothing here knows any theory.

* :mod:`.areas`: the one list of areas (claim id prefix, package, title) and the
  package layers of the import contract;
* :mod:`.backend`: array namespaces (NumPy, array_api_strict, CuPy), dtypes, host transfers;
* :mod:`.validation`: argument checks that name the argument and what was wrong;
* :mod:`.registry`: one registry mechanism (register, discover, select) for
  claims, figures and benchmarks;
* :mod:`.io`: atomic file writes;
* :mod:`.progress`: progress bars on a terminal, silence elsewhere.
"""
