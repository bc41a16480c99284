# kstarlab: every target creates .venv and installs the package when needed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.kstarlab-installed

.PHONY: setup run docs demo test test-fast lint bench clean repro push pull

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all,dev,bench]'
	touch $(STAMP)

## The main job on the embedded default: every study of config/config.yaml, then the report.
run: $(STAMP)
	$(VENV)/bin/snakemake --cores all
	@# Snakemake writes the report in place: never through a (read-only) link to the DVC cache.
	rm -f results/report.html
	$(VENV)/bin/snakemake --report results/report.html
	@echo "report: results/report.html"

## The README's and docs' tables, figures and fingerprints, rebuilt from results/ (after make run).
docs: $(STAMP)
	$(PY) -m kstarlab.workflow.results_docs results

## The k* analysis of scikit-learn's digits in pixel space (no model, seconds).
demo: $(STAMP)
	$(VENV)/bin/kstarlab demo

## The whole test suite: the unit, workflow and system tiers (tests/conftest.py).
test: $(STAMP)
	$(PY) -m pytest

## The unit tier only (tests/unit: the library and the command line, no Snakemake run), on
## every core (pytest-xdist).
test-fast: $(STAMP)
	$(PY) -m pytest tests/unit -m unit -n auto

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks workflow/scripts
	$(VENV)/bin/ruff format --check src tests benchmarks workflow/scripts
	$(VENV)/bin/snakefmt --check Snakefile workflow/rules
	$(VENV)/bin/snakemake --lint

bench: $(STAMP)
	$(PY) benchmarks/kstar_bench.py

## DVC (README: Versioning data with DVC): run the stages, share results/ through a remote.
## KSTARLAB_DVC_REMOTE=PATH-or-URL overrides the default remote (~/.cache/kstarlab-dvc-remote).
repro: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/dvc repro

push: $(STAMP)
	$(VENV)/bin/kstarlab data push

## dvc pull, then snakemake --touch of the pulled, consistent state: nothing reruns.
pull: $(STAMP)
	$(VENV)/bin/kstarlab data pull

clean:
	rm -rf $(VENV) results .pytest_cache .hypothesis
