# Two commands from a fresh clone (they create or reuse .venv):
#   make run    the main job: a 20 s WebRTC call over loopback (aiortc, Opus), a 200 ms
#               stall every 5 s, played out at the sizes the recommended policy decides
#   make live   the controller live on this machine for 20 s (psutil), ending with its summary
#   make test   the whole test suite: ruff, mypy --strict, pytest (slow tests included)
#   make check  the quick loop: ruff, mypy --strict, pytest without the slow tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run live demo test check lint typecheck pytest pytest-quick bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
	  echo "'$(PYTHON) -m venv' is unavailable here; creating $(VENV) with virtualenv"; \
	  rm -rf $(VENV); \
	  $(PYTHON) -m pip install --quiet --user virtualenv \
	    || $(PYTHON) -m pip install --quiet --user --break-system-packages virtualenv; \
	  $(PYTHON) -m virtualenv --quiet $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,webrtc,tune]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/adaptive-stream demo --webrtc --profile quality --duration 20s

live: $(STAMP)
	$(BIN)/adaptive-stream run --system --duration 20

demo: $(STAMP)
	$(BIN)/adaptive-stream demo

LINT_PATHS := adaptive_stream tests tools $(wildcard benchmarks examples)

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

pytest-quick: $(STAMP)
	$(BIN)/pytest -m "not slow"

test: lint typecheck pytest

check: lint typecheck pytest-quick

bench: $(STAMP)
	$(BIN)/python benchmarks/replay_speed.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
