# Stint: `make run` starts the platform on the embedded stack, `make test` runs what CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.8
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export UV_PYTHON_DOWNLOADS := never

PROTO_SOURCES := $(shell find proto -name '*.proto' 2>/dev/null)
EDGE_DESCRIPTORS := deploy/k8s/components/edge/stint.binpb

.PHONY: help setup proto lint test run stack edge demo bench reset clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PY)
	@touch $@

gen/.stamp: $(VENV)/.synced $(PROTO_SOURCES) tools/protogen.py
	$(PY) tools/protogen.py
	$(PY) -m stint_runtime.edge.descriptors gen/stint.binpb $(EDGE_DESCRIPTORS)
	@touch $@

setup: $(VENV)/.synced gen/.stamp ## create the environment, install pinned dependencies, generate code (idempotent)

proto: $(VENV)/.synced ## regenerate the contracts package from proto/ (and the edge's descriptor set)
	$(PY) tools/protogen.py
	$(PY) -m stint_runtime.edge.descriptors gen/stint.binpb $(EDGE_DESCRIPTORS)
	@touch gen/.stamp

lint: setup ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy lib services tools tests examples

test: setup ## everything CI runs: lint, contract checks, unit, integration and end-to-end tests
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest

run: setup ## the embedded stack plus every service, in the foreground (Ctrl-C stops all)
	exec $(PY) -m stint_runtime.run

demo: setup ## walk the whole journey over gRPC against `make run` (or a platform of its own)
	$(PY) -m tools.demo

stack: setup ## only the infrastructure (Kafka, MongoDB, SMTP), in the foreground
	exec $(PY) -m stint_runtime.run --stack-only

edge: setup ## only the HTTP/JSON + gRPC-Web edge on STINT_EDGE_PORT (default 8080), beside `make run`
	exec $(PY) -m stint_runtime.edge

bench: setup ## benchmarks that print figures
	$(PY) -m tools.bench

reset: setup ## delete the development data after asking (databases, mail, simulator); make reset ARGS=--yes
	$(VENV)/bin/stint reset $(ARGS)

clean: ## remove the environment, generated code and local data
	rm -rf $(VENV) gen .stint .mypy_cache .ruff_cache .pytest_cache $(EDGE_DESCRIPTORS)
