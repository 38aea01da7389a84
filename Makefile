# TAC: developer and CI entry points. GNU make.
#
#   make install           .venv from requirements.lock (fast no-op when unchanged)
#   make lock              re-resolve requirements.lock from pyproject.toml
#   make kafka-up          local single-node Kafka 3.9 (KRaft) + TAC topics; kafka-down, kafka-status
#   make pg-up             local PostgreSQL with role tac / database tac_test; pg-down
#   make idp-up            local Keycloak at 127.0.0.1:8380, realm tac (deploy/keycloak/README.md); idp-down, idp-status
#   make test              everything: install, kafka-up, pg-up, idp-up, then unit + integration + e2e
#   make test-unit | test-integration | test-e2e
#   make schemas           export the contracts (JSON Schema, AsyncAPI); fails when a released vN broke
#   make schemas-release   copy the current JSON Schemas into schemas/released/ (the gate compares with them)
#   make demo | down | bench
#   make chaos             the chaos soak (bench/chaos): its own broker and PostgreSQL, kills, bounces; ~20 min

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

VENV   := .venv
PY     := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest
UV     := $(VENV)/bin/uv

# What the tests (and kafka-up) talk to. Override on the command line or in the environment.
export KAFKA_BOOTSTRAP_SERVERS ?= 127.0.0.1:9092
export TAC_TEST_POSTGRES_URL ?= postgresql+psycopg://tac:tac@127.0.0.1:5432/tac_test

TEST_LEVELS := tests/unit tests/integration tests/e2e

.PHONY: help install lock kafka-up kafka-down kafka-status pg-up pg-down idp-up idp-down idp-status schemas schemas-release \
	test test-unit test-integration test-e2e demo down bench chaos

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

install:
	@scripts/install.sh

lock: install
	$(UV) pip compile pyproject.toml --extra test -o requirements.lock
	@echo "requirements.lock updated: run 'make install' to sync .venv"

kafka-up: install
	@scripts/kafka.sh up

kafka-down:
	@scripts/kafka.sh down

kafka-status:
	@scripts/kafka.sh status || true

pg-up:
	@scripts/pg.sh up

pg-down:
	@scripts/pg.sh down

idp-up:
	@scripts/idp.sh up

idp-down:
	@scripts/idp.sh down

idp-status:
	@scripts/idp.sh status || true

schemas: install
	$(PY) -m schemas.export

schemas-release: install
	$(PY) -m schemas.export --release

# $(call pytest_level,DIR): one test level. A level without tests yet (no folder, or pytest's
# exit 5 "no tests collected") is reported and passes; any other failure fails.
define pytest_level
	@if [ ! -d $(1) ]; then \
		echo "$(1): no tests yet (folder absent)"; \
	else \
		rc=0; $(PYTEST) $(1) -q || rc=$$?; \
		if [ $$rc -eq 5 ]; then echo "$(1): no tests collected yet"; \
		elif [ $$rc -ne 0 ]; then exit $$rc; fi; \
	fi
endef

test-unit: install
	$(call pytest_level,tests/unit)

test-integration: install kafka-up pg-up idp-up
	$(call pytest_level,tests/integration)

test-e2e: install kafka-up pg-up idp-up
	$(call pytest_level,tests/e2e)

# One pytest run over every level that exists: empty levels just add nothing, but a run that
# collects no test at all fails (exit 5), as it must for CI.
test: install kafka-up pg-up idp-up
	@levels="$(strip $(wildcard $(TEST_LEVELS)))"; \
	if [ -z "$$levels" ]; then echo "make test: no test folders ($(TEST_LEVELS))" >&2; exit 1; fi; \
	echo "$(PYTEST) $$levels -q"; \
	$(PYTEST) $$levels -q

# The services run from .local/demo (SQLite stores, logs); DEMO_EXIT=1 exits after printing.
demo: install kafka-up
	$(PY) -m demo

# Stops the services `make demo` started, then the local broker.
down:
	@if [ -x $(PY) ]; then $(PY) -m demo down; fi
	@scripts/kafka.sh down

ifneq ($(wildcard bench/run.py bench/run/__init__.py),)
# BENCH_BASELINE=/path/to/another/checkout measures its timeline beside this one's in the same run.
bench: install kafka-up pg-up
	$(PY) -m bench.run $(if $(BENCH_BASELINE),--baseline $(BENCH_BASELINE))
else
bench:
	@echo "bench not built yet"; exit 1
endif

# The chaos soak of issue 16: starts its own broker and PostgreSQL under .local/chaos (never the
# shared ones), so it needs neither kafka-up nor pg-up. Not part of `make test`.
# CHAOS_ARGS=--quick for the small run that checks the harness.
chaos: install
	$(PY) -m bench.chaos $(CHAOS_ARGS)
