# Quick start: `make run` (web chat on http://127.0.0.1:8080/, embedded SQLite), `make test`.
# Both create .venv when it is missing.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: run test check stories bench clean

$(BIN)/heard: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(BIN)/heard

run: $(BIN)/heard
	$(BIN)/heard serve

test: $(BIN)/heard
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

stories: $(BIN)/heard
	$(BIN)/heard test-stories tests/stories

bench: $(BIN)/heard
	$(BIN)/python benchmarks/engine.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
