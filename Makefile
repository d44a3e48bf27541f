# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint clean package

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,spark]'  # spark: tests/test_warehouse_spark.py
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/streamloop demo

# everything, end-to-end builds included (CI): on TEST_WORKERS processes (pytest-xdist, a test module per
# worker at a time), then the few `serial` tests that edit dbt_project/ alone
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not serial"
	$(BIN)/pytest -q -m serial

# the editing loop: skips the end-to-end tests marked `slow`
test-fast: $(STAMP)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow"

# SQLFluff renders each model through dbt (.sqlfluff: templater = dbt), which needs a warehouse to
# connect to and the contract seeds loaded (models build their SQL from them): a scratch one under .streamloop
SQLFLUFF_ENV := STREAMLOOP_WAREHOUSE_PATH=$(CURDIR)/.streamloop/sqlfluff.duckdb STREAMLOOP_LAKE_URI=$(CURDIR)/.streamloop/lake

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	mkdir -p .streamloop
	cd dbt_project && $(SQLFLUFF_ENV) $(CURDIR)/$(BIN)/dbt seed --profiles-dir . -q
	$(SQLFLUFF_ENV) $(BIN)/sqlfluff lint dbt_project

# Lambda artifacts (dist/), checked against Lambda's limits, cold starts measured (deploy/package.py)
package: $(STAMP)
	$(BIN)/python -m deploy.package

clean:
	rm -rf $(VENV) .streamloop dbt_project/target dbt_project/logs
