# Two commands on a fresh machine: `make verify` and `make test`.
# Each creates .venv and installs the project on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# pytest-xdist workers; "auto" uses every core.
JOBS   ?= auto
# Extra options of `make lab`, e.g. LAB_ARGS=--allow-root in a container run as root.
LAB_ARGS ?=
# Which interpreter made $(VENV): a PYTHON given on the command line or in the
# environment must be the one, or the venv would silently keep the other.
WHICH_PYTHON := import sys; print(sys.base_prefix, "%d.%d" % sys.version_info[:2])
ifneq ($(filter command line environment,$(origin PYTHON)),)
VENV_CHECK := venv-python
endif

RUNTIME_STAMP  := $(VENV)/.installed-runtime
TEST_STAMP     := $(VENV)/.installed-test
NOTEBOOK_STAMP := $(VENV)/.installed-notebooks

.PHONY: verify test test-fast figures bench lab notebooks dist clean help venv-python

help:
	@echo "make verify    run every claim (gc-theory verify)"
	@echo "make test      run the whole test suite, notebooks included"
	@echo "make test-fast the suite without checks marked slow"
	@echo "make figures   regenerate figures/ (gc-theory figures)"
	@echo "make bench     run the benchmarks (gc-theory bench)"
	@echo "make lab       open the notebooks in JupyterLab (LAB_ARGS=--allow-root as root)"
	@echo "make notebooks re-execute every notebook in place (deterministic outputs)"
	@echo "make dist      build the sdist and wheel into dist/"
	@echo "make clean     remove .venv and caches"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "gc-theory needs Python 3.10 or newer; set PYTHON=python3.x")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

venv-python: | $(BIN)/python
	@want=$$($(PYTHON) -c '$(WHICH_PYTHON)') && have=$$($(BIN)/python -c '$(WHICH_PYTHON)') && \
	if [ "$$want" != "$$have" ]; then \
	  echo "error: $(VENV) was made by another Python ($$have), not PYTHON=$(PYTHON) ($$want);" >&2; \
	  echo "       run 'make clean' to recreate it with PYTHON=$(PYTHON), or choose another VENV=..." >&2; \
	  exit 1; \
	fi

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python $(VENV_CHECK)
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

# The torch oracle is optional: it is installed only from a local wheelhouse
# (--no-index), never downloaded, and the tests that use it skip without it.
$(TEST_STAMP): pyproject.toml | $(BIN)/python $(VENV_CHECK)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@if $(BIN)/python -m pip install --quiet --no-index --no-deps torch==2.13.0 2>/dev/null; then \
	  $(BIN)/python -m pip install --quiet torch==2.13.0; \
	else \
	  echo "note: no local torch wheel; the oracle tests against torch will skip"; \
	fi
	@touch $@ $(RUNTIME_STAMP)

$(NOTEBOOK_STAMP): pyproject.toml | $(BIN)/python $(VENV_CHECK)
	$(BIN)/python -m pip install --quiet -e '.[notebooks]'
	@touch $@ $(RUNTIME_STAMP)

verify: $(RUNTIME_STAMP) $(VENV_CHECK)
	$(BIN)/gc-theory verify

test: $(TEST_STAMP) $(VENV_CHECK)
	$(BIN)/python -m pytest -n $(JOBS)

test-fast: $(TEST_STAMP)
	$(BIN)/python -m pytest -n $(JOBS) -m "not slow"

figures: $(RUNTIME_STAMP)
	$(BIN)/gc-theory figures

bench: $(RUNTIME_STAMP)
	$(BIN)/gc-theory bench

lab: $(NOTEBOOK_STAMP)
	$(BIN)/jupyter lab $(LAB_ARGS) notebooks/

# Executes with this venv's own kernel; no timestamps or widget state, so an
# unchanged notebook re-executes to the same file.
notebooks: $(TEST_STAMP)
	$(BIN)/python tools/notebooks.py

RELEASE_STAMP := $(VENV)/.installed-release

$(RELEASE_STAMP): pyproject.toml | $(BIN)/python $(VENV_CHECK)
	$(BIN)/python -m pip install --quiet -e '.[release]'
	@touch $@ $(RUNTIME_STAMP)

dist: $(RELEASE_STAMP)
	$(BIN)/python -m build --outdir dist .

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
