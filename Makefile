# headwater — every target sets up what it needs (virtualenv, pip, jars, MinIO).
# Big downloads live in $(HEADWATER_CACHE_DIR) (default ~/.cache/headwater) and pip's
# own cache, outside the clone, so a second clone or CI run reuses them.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HW := $(BIN)/headwater
PYTEST := $(BIN)/pytest
STAMP := $(VENV)/.installed
export HEADWATER_CACHE_DIR ?= $(HOME)/.cache/headwater

.DEFAULT_GOAL := help
.PHONY: help setup system-deps demo test test-unit test-spark test-stack up down status \
        cluster-up cluster-down jars-lock bench lint docker-check docker-up docker-down clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-13s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP) ## Virtualenv + pinned packages, then JVM jars, metastore launcher and MinIO into the cache
	$(HW) stack setup

# Debian packages a target needs: postgresql, mariadb (test sources), jdk (Spark, javac)
NEED ?= postgresql mariadb jdk
system-deps: ## Install the Debian packages the stack needs (PostgreSQL, MariaDB, a JDK 17) if missing
	@missing=""; \
	for need in $(NEED); do case $$need in \
	  postgresql) ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql";; \
	  mariadb) command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || missing="$$missing mariadb-server";; \
	  jdk) command -v javac >/dev/null || missing="$$missing openjdk-17-jdk-headless";; \
	esac; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "please install:$$missing (e.g. sudo apt-get install$$missing)"; exit 1; fi; \
	fi

demo: $(STAMP) ## Run the whole flow on the embedded default (local profile, no servers)
	@$(MAKE) --no-print-directory system-deps NEED=jdk
	$(HW) stack setup $(if $(filter corpus,$(ONLY)),--no-minio)
	$(HW) demo

test: system-deps setup ## Unit, Spark and stack tests (starts and stops its own services)
	$(MAKE) --no-print-directory test-unit test-spark test-stack

test-unit: $(STAMP) ## Pure-logic tests: no JVM, no network
	$(PYTEST) -m unit -q

test-spark: $(STAMP) ## Tests on a local Spark session (the local metastore service)
	$(PYTEST) -m spark -q --durations=15

test-stack: $(STAMP) ## Tests against real PostgreSQL, metastore, MinIO and Thrift Server
	$(PYTEST) -m stack -q --durations=15

up: system-deps setup ## Start the native stack on 127.0.0.1 (idempotent)
	$(HW) --profile stack stack up

down: $(STAMP) ## Stop every service the launcher started
	$(HW) stack down

status: $(STAMP) ## Show each service, its address and health
	$(HW) stack status

cluster-up: setup ## Start a Spark standalone master and one worker (spark://127.0.0.1:7077)
	$(HW) stack up spark-master spark-worker

cluster-down: $(STAMP) ## Stop the standalone master and worker
	$(HW) stack down spark-master spark-worker

jars-lock: $(STAMP) ## Developers: after changing engine/stack/jars/pom.xml, re-resolve jars.lock (needs Maven)
	$(BIN)/python -c "from engine.artifacts import write_jar_lock; print(write_jar_lock())"

bench: $(STAMP) ## Run the benchmarks and write docs/benchmarks.md (installs DuckDB, the anchor); ONLY=corpus, soak, large-transaction, replication, mariadb, ingest or catalog: that section alone
	$(BIN)/pip install -q -c constraints.txt -e ".[bench]"
	$(HW) stack setup $(if $(filter corpus,$(ONLY)),--no-minio)
	$(BIN)/python -m tests.bench.run $(if $(ONLY),--only $(ONLY))

lint: $(STAMP) ## ruff (lint + format check), mypy and the package layers (docs/architecture.md)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(PYTEST) -q -p no:cacheprovider tests/unit/test_architecture.py

docker-check: $(STAMP) ## Validate docker/compose.yaml (schema check; no Docker engine needed)
	$(BIN)/python docker/check_compose.py docker/compose.yaml

docker-up: ## Start the same stack with Docker Compose (needs a Docker engine)
	docker compose -p headwater -f docker/compose.yaml up -d --wait

docker-down: ## Stop the Docker Compose stack
	docker compose -p headwater -f docker/compose.yaml down

clean: down ## Stop services and remove .headwater/ (the cache stays)
	rm -rf .headwater
