# GDX One Data — every entry point a newcomer needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
UV_VERSION := 0.13.9
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Local defaults: everything lands in git-ignored folders of this checkout.
export GDX_STATE_DIR ?= $(CURDIR)/.gdx
export AIRFLOW_HOME ?= $(GDX_STATE_DIR)/airflow
export AIRFLOW__CORE__DAGS_FOLDER ?= $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES ?= False

.PHONY: help install kafka-jars browser lint generate check-generated test test-unit test-integration demo bench serve airflow-db airflow-env lock clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync -q --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	@touch $@

install: $(STAMP) ## Create .venv and install the pinned environment (idempotent, fast when current)

kafka-jars: $(STAMP) ## Assemble the Kafka broker and S3Proxy jars from Maven Central (cached in .gdx/kafka/libs, .gdx/s3/libs)
	@$(BIN)/python -c "from gdx.kafka_local import ensure_jars; print('kafka jars:', ensure_jars())"
	@$(BIN)/python -c "from gdx.s3_local import ensure_jars; print('s3proxy jars:', ensure_jars())"

browser: ## Install Debian's Chromium for the dashboard browser test (root only; otherwise that test skips)
	@if command -v chromium >/dev/null && fc-list :lang=th | grep -q .; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium (Debian package) for the browser test"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-core fonts-tlwg-loma-otf >/dev/null) \
	    || echo "warning: could not install chromium; the browser test will be skipped"; \
	else echo "note: chromium missing and not root; the browser test will be skipped"; fi

.PHONY: postgres airflow
postgres: ## Install Debian's PostgreSQL server binaries for the real-scheduler Airflow test (root only)
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing postgresql (Debian package) for the Airflow scheduler test"; \
	  mkdir -p /etc/postgresql-common; \
	  [ -e /etc/postgresql-common/createcluster.conf ] || echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
	    || echo "warning: could not install postgresql; the Airflow scheduler test will fail"; \
	else echo "note: PostgreSQL missing and not root; install the postgresql package for the Airflow scheduler test"; fi

airflow: install postgres ## Run Airflow as an operator does (Postgres, api-server, scheduler, dag-processor, triggerer) until Ctrl-C; AIRFLOW_ARGS=--port 8080
	$(BIN)/python -m gdx.airflow_local $(AIRFLOW_ARGS)

lint: $(STAMP) ## Ruff over the whole repository
	$(BIN)/ruff check .

generate: $(STAMP) ## Regenerate every artefact derived from the contracts
	$(BIN)/gdx contracts generate

check-generated: $(STAMP) ## Fail if generated artefacts are stale
	$(BIN)/gdx contracts generate --check

test: install kafka-jars browser postgres lint check-generated ## Lint, check generated files, run every test (real broker, Airflow, dbt)
	$(BIN)/python -m tests.lanes  # the unit tests beside the integration tests, not after them (tests/lanes.py)

test-unit: $(STAMP) ## Unit tests only
	$(BIN)/pytest -q tests/unit

test-integration: install kafka-jars postgres ## Integration tests only
	$(BIN)/pytest -q tests/integration

demo: install kafka-jars ## Run the pipeline end to end on sample data (local broker, Airflow, DuckDB)
	$(BIN)/gdx demo

bench: install kafka-jars ## Benchmarks with ratios to same-run baselines (writes bench/results/); BENCH_ARGS=--quick etc.
	$(BIN)/python -m bench $(BENCH_ARGS)

serve: install ## Serve the open-data catalog API and governor dashboard
	$(BIN)/gdx serve

# Airflow with the settings of gdx.orchestration.airflow_env (sized for this machine, secrets in the state dir)
AIRFLOW = $(BIN)/python -m gdx.orchestration.airflow_env $(BIN)/airflow

airflow-db: $(STAMP) ## Create/upgrade the local Airflow metadata DB (SQLite) and its ingest pools
	$(AIRFLOW) db migrate
	$(AIRFLOW) pools import dags/ingest_pools.json

airflow-env: $(STAMP) ## Show the Airflow settings used here (sized for this machine; secrets masked)
	@$(BIN)/python -m gdx.orchestration.airflow_env

lock: ## Re-resolve requirements.in into requirements.lock (needs the package index)
	@[ -x $(BIN)/uv ] || $(MAKE) install
	$(BIN)/uv pip compile requirements.in --python-version 3.11 --generate-hashes -q -o requirements.lock

clean: ## Stop the local broker and delete local state (broker data, Airflow home, lake, warehouse)
	-@[ -x $(BIN)/gdx ] && $(BIN)/gdx kafka down
	rm -rf .gdx lake bench/results
