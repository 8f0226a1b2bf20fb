# The two entry points of the README. Each sets itself up from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# This checkout (the Makefile's folder): `make -f CHECKOUT/Makefile demo VENV=…` runs the demo from
# another folder, which then receives the model and the report (the tests do that in a temp dir).
HERE := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))

.PHONY: demo check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# atb, installed (editable) once and again only when pyproject.toml changes.
$(BIN)/atb: $(HERE)/pyproject.toml $(HERE)/constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c $(HERE)/constraints.txt -e $(HERE)
	@touch $@

# Main job: install atb and run the offline demo on the synthetic DEMO market: train ml_basic
# once (kept in .atb/models), then backtest its last 30 days; the report lands under results/.
DEMO_ENV := ATB_MODEL_DIR=.atb/models
demo: $(BIN)/atb
	@test -f .atb/models/ml_basic_DEMO_1h.json || $(DEMO_ENV) $(BIN)/atb train ml_basic \
		--symbol DEMO --timeframe 1h --start 2023-01-01 --end 2025-11-01
	$(DEMO_ENV) $(BIN)/atb backtest ml_basic --symbol DEMO --timeframe 1h --days 30

# Every check: tests with branch coverage (three workers on two cores, one test file per worker at
# a time: the module fixtures are built once; the end-to-end tests wait on subprocesses, so a third
# worker fills the idle time), mypy --strict, ruff, the import-linter layers contract.
# Chromium renders report.html in one test; it is installed when missing and possible (root with
# apt), otherwise that test skips and says why.
check: $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) ; } \
		|| echo "note: chromium not installed; the report browser test will be skipped"
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -n 3 --dist loadfile --durations=15 --cov --cov-branch --cov-report= -p no:cacheprovider
	$(BIN)/python -m coverage report --include='src/atb/domain/*,src/atb/managers/*' --fail-under=90

clean:
	rm -rf $(VENV) .atb .mypy_cache .pytest_cache .ruff_cache .coverage
