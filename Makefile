# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

SCALE ?= full
DOCS_PORT ?= 8080
UI_PORT ?= 3000
DAGSTER_HOME ?= $(CURDIR)/data/dagster
# test processes: each test file runs whole on one of them (module fixtures stay shared)
TEST_WORKERS ?= 2
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist loadfile

.PHONY: demo demo-spark docs ui metrics test test-fast test-spark lint metadata format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)  ## sample files -> dlt -> DuckDB raw -> dbt build -> summary
	$(BIN)/warehouse demo

demo-spark: $(STAMP)  ## the demo on Apache Spark: raw as Parquet in data/spark/lake, a local session
	$(BIN)/warehouse demo --target spark

data/demo.duckdb:
	$(MAKE) demo

docs: $(STAMP) data/demo.duckdb  ## dbt's documentation site of the demo warehouse on DOCS_PORT
	WAREHOUSE_DUCKDB=data/demo.duckdb $(BIN)/warehouse docs --serve --port $(DOCS_PORT)

ui: $(STAMP)  ## the Dagster UI (assets, jobs, schedule, sensor) on 127.0.0.1:UI_PORT
	mkdir -p $(DAGSTER_HOME)
	cp orchestration/dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/dagster dev -m orchestration.definitions -h 127.0.0.1 -p $(UI_PORT)

metrics: $(STAMP) data/demo.duckdb  ## the semantic layer: mf validate-configs against the demo warehouse
	cd dbt_project && WAREHOUSE_DUCKDB=../data/demo.duckdb ../$(BIN)/dbt parse --quiet --profiles-dir . --target duckdb
	cd dbt_project && WAREHOUSE_DUCKDB=../data/demo.duckdb DBT_PROFILES_DIR=. ../$(BIN)/mf validate-configs

test: $(STAMP) lint metadata  ## lint, metadata checks, then the test suite on TEST_WORKERS processes (PostgreSQL tests skip if no server); Spark's: make test-spark
	$(BIN)/pytest $(PYTEST_PARALLEL) -m "not spark"

test-fast: $(STAMP)  ## inner loop: everything but the fault suite, the UI test and Spark, no lint
	$(BIN)/pytest $(PYTEST_PARALLEL) -m "not reliability and not ui and not spark"

# one module per process: each holds one local Spark session (JVM) of its own
test-spark: $(STAMP)  ## the end-to-end modules on Apache Spark (local session, Java 17)
	$(BIN)/pytest $(PYTEST_PARALLEL) -m spark

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd dbt_project && WAREHOUSE_DUCKDB=$$(mktemp -d)/lint.duckdb ../$(BIN)/sqlfluff lint models

metadata: $(STAMP)  ## dbt-score (at least 9.0) and dbt-coverage (mart columns at least 95 % documented)
	BIN=$(BIN) .ci/metadata

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	cd dbt_project && WAREHOUSE_DUCKDB=$$(mktemp -d)/lint.duckdb ../$(BIN)/sqlfluff fix models

bench: $(STAMP)  ## every hot path next to the raw tool: make bench [SCALE=small|full]
	$(BIN)/python -m bench.run --scale $(SCALE)

clean:
	rm -rf $(VENV) data dbt_project/target dbt_project/logs
