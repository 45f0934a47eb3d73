# Everything a newcomer runs: `make run` and `make test`. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint fmt typecheck pytest schema bench clean

install: $(STAMP)

# Re-install only when the project's dependencies change, so a second run is quick.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/imagequeue up

test: install lint typecheck pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest

schema: install
	$(BIN)/strawberry export-schema server.graphql.schema:schema --output schema.graphql

bench: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench.executor
	$(BIN)/python -m bench.renditions
	$(BIN)/python -m bench.pipeline            # full size: --count 200
	$(BIN)/python -m bench.latency
	$(BIN)/python -m bench.upload_path --duration-s 10   # full size: the default 30 s
	$(BIN)/python -m bench.fanout

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
