# The two entry points of the README. Each sets itself up from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Main job: install atb and run the offline demo.
demo: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/atb --help

# Every check: tests with branch coverage, mypy --strict, ruff.
check: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest --cov --cov-branch --cov-report= -p no:cacheprovider
	$(BIN)/python -m coverage report --include='src/atb/domain/*,src/atb/managers/*' --fail-under=90

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .coverage
