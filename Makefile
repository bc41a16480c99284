# kstarlab: every target creates .venv and installs the package when needed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.kstarlab-installed

.PHONY: setup run demo test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## The main job on the embedded default: every study of config/config.yaml, then the report.
run: $(STAMP)
	$(VENV)/bin/snakemake --cores all
	$(VENV)/bin/snakemake --report results/report.html
	@echo "report: results/report.html"

## The k* analysis of scikit-learn's digits in pixel space (no model, seconds).
demo: $(STAMP)
	$(VENV)/bin/kstarlab demo

## The whole test suite.
test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks workflow/scripts
	$(VENV)/bin/ruff format --check src tests benchmarks workflow/scripts
	$(VENV)/bin/snakefmt --check Snakefile workflow/rules
	$(VENV)/bin/snakemake --lint

bench: $(STAMP)
	$(PY) benchmarks/kstar_bench.py

clean:
	rm -rf $(VENV) results .pytest_cache .hypothesis
