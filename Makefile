# Two commands from a fresh clone (they create or reuse .venv):
#   make run    the main job: a bounded live run on this machine, ending with its summary
#   make test   the whole test suite: ruff, mypy --strict, pytest
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/adaptive-stream demo

demo: $(STAMP)
	$(BIN)/adaptive-stream demo

lint: $(STAMP)
	$(BIN)/ruff check adaptive_stream tests benchmarks examples
	$(BIN)/ruff format --check adaptive_stream tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/replay_speed.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
