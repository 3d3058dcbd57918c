# Two commands do everything on a fresh machine:
#   make demo   set up, then run Token Recycling vs greedy on the embedded SmolLM2
#   make test   set up, then run the whole test suite (the same command CI runs)
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: setup setup-test demo test lab bench lint

setup:
	@bash scripts/setup.sh

setup-test:
	@bash scripts/setup.sh --test

demo: setup
	$(BIN)/trviz demo

test: setup-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lab: setup
	$(BIN)/python -c "import trviz.model as m; m.ensure_default_model()"
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 notebooks/

bench: setup
	$(BIN)/trviz bench

lint: setup
	$(BIN)/ruff check src tests tr_notebooks benchmarks scripts && $(BIN)/ruff format --check src tests tr_notebooks benchmarks scripts
