# The two commands a newcomer needs: `make up` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
USERS ?= 1
COMPETITIONS ?= 2

.PHONY: up test compile bench faults faults-compose prerequisites lint proto asyncapi lock clean
# bench and faults check the machine before compile, which needs what they check.
.NOTPARALLEL:

$(STAMP): requirements-dev.lock pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps --editable .
	touch $(STAMP)

## The gateway's hot path compiled with mypyc (setup.py): a wheel built with LITCOMP_COMPILE=1,
## installed into build/compiled/site, which `make up`, `make bench` and `make faults` put first on
## PYTHONPATH. Rebuilt (~1 minute) when the source changes; the venv's editable install, which
## `make test` and a bare `.venv/bin/litcomp` use, stays interpreted.
COMPILED := build/compiled
SOURCES := setup.py pyproject.toml $(shell find src/litcomp -name '*.py')
compile: $(COMPILED)/.built
$(COMPILED)/.built: $(STAMP) $(SOURCES) scripts/build_wheel.sh
	@# Stamped with the time the build starts: a source edited while it runs is newer.
	@mkdir -p $(COMPILED) && touch $@.started
	@if ! command -v cc >/dev/null; then \
	  echo "no C compiler: the gateway runs interpreted (apt-get install gcc python3-dev)"; \
	  rm -rf $(COMPILED); mkdir -p $(COMPILED)/site; exit 0; fi; \
	set -x; PYTHON=$(BIN)/python scripts/build_wheel.sh . $(COMPILED)
	mv $@.started $@
COMPILED_ENV := PYTHONPATH=$(CURDIR)/$(COMPILED)/site

## Start the whole platform with embedded defaults (Ctrl-C stops it); DEMO=1 fills an empty one
## with sample competitions, writers and stories (litcomp demo).
up: compile
	$(COMPILED_ENV) $(BIN)/litcomp up --users $(USERS) --competitions $(COMPETITIONS) $(if $(filter 1 yes true,$(DEMO)),--demo)

## What make test, bench, faults and faults-compose need from the machine, installed
## (as root) or named with the command that installs it. Each of them runs its own part first.
prerequisites:
	scripts/prerequisites.sh test bench faults faults-compose

## Run the whole test suite (installs or names what it needs first, see README).
test: prerequisites-test $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

## Every benchmark of the real platform on 127.0.0.1, one entry point (~9 minutes; results and
## plots in bench/results, shown in bench/README.md). Needs nginx, wrk, PostgreSQL and Redis's
## binaries. Shorter: make bench BENCH_ARGS=--quick, or BENCH_ARGS='--parts proxies,cache'.
bench: prerequisites-bench compile
	$(COMPILED_ENV) $(BIN)/python -m bench.run $(BENCH_ARGS)

## Fault scenarios under load (~4 minutes): replicas killed and frozen, Redis, PostgreSQL,
## discovery and gateway restarts, a login flood. Fewer: make faults FAULTS_ARGS='--scenarios kill'.
faults: prerequisites-faults compile
	$(COMPILED_ENV) $(BIN)/python -m bench.faults $(FAULTS_ARGS)

## The same faults on the Compose deployment, as Docker makes them (~5 minutes, root or a
## running engine): docker kill, pause, network disconnect of a competitions container,
## Redis paused. Builds the images as the Compose stage does; fewer: FAULTS_ARGS='--scenarios pause'.
faults-compose: prerequisites-faults-compose $(STAMP)
	$(BIN)/python -m bench.faults_compose $(FAULTS_ARGS)

prerequisites-%:
	@scripts/prerequisites.sh $*

## Regenerate the gRPC code in src/litcomp/v1 from proto/.
proto: $(STAMP)
	$(BIN)/python proto/generate.py src

## Regenerate the notification WebSocket's AsyncAPI document, which the gateway serves at
## /asyncapi.json, from the notification models (a test says when it is out of date).
asyncapi: $(STAMP)
	$(BIN)/python -m litcomp.competitions.notifications.asyncapi src/litcomp/gateway/docs/asyncapi.json

## Re-pin every dependency (needs the network). Pinned for Python 3.11.2, the oldest
## the images run (Debian bookworm's), so what older 3.11s need is pinned too.
lock:
	$(BIN)/uv pip compile --quiet --python-version 3.11.2 pyproject.toml -o requirements.lock
	$(BIN)/uv pip compile --quiet --python-version 3.11.2 pyproject.toml --extra dev -o requirements-dev.lock

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
