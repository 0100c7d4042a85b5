# Two entry points: `make run` (the pipeline on the embedded tiny profile) and `make test`.
# Both create/refresh .venv only when pyproject.toml changed.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export DVC_NO_ANALYTICS := 1
export PREFECT_HOME := $(CURDIR)/.prefect
export PREFECT_LOGGING_LEVEL ?= WARNING
export PYTHONUNBUFFERED := 1

.PHONY: run test test-fast test-long lint typecheck pytest venv bench clean web

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip setuptools wheel
	$(BIN)/pip install -q -c constraints.txt -e '.[blender,dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/headforge demo > /dev/null
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m flows.server -- dvc repro

lint: $(STAMP)
	$(BIN)/ruff check src tests flows tasks blender benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest -m "not long" $(PYTEST_ARGS)

# The whole pipeline from a fresh clone beside two CPU hogs (dvc repro, dvc exp run -S): tens of
# minutes on 2 cores, so it is kept out of `make test`.
test-long: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest -m long $(PYTEST_ARGS)

test: lint typecheck web pytest

# The avatar viewer's JS (web/: three.js + Spark, pinned by package-lock.json), bundled into the
# package for `headforge export --format web`. Needs Node and npm.
WEB_DIST := src/headforge/export/web_dist
WEB_STAMP := $(WEB_DIST)/.built
web: $(WEB_STAMP)

$(WEB_STAMP): web/package.json web/package-lock.json web/build.mjs web/index.html $(wildcard web/src/*.js)
	cd web && npm ci --no-audit --no-fund --prefer-offline && npm run build
	touch $@

# Day-to-day lane (about 3 minutes on 2 cores): no Blender, PostgreSQL, GPU or slow end-to-end
# tests (deployments, Dask, DDP, real-stage forget); `make test` stays the full suite CI runs.
FAST_MARKERS := not slow and not long and not blender and not postgres and not gpu
test-fast: lint web
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest -q -m "$(FAST_MARKERS)" $(PYTEST_ARGS)

bench: $(STAMP)
	for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache web/node_modules $(WEB_DIST)
