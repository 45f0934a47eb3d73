# Everything a newcomer runs: `make run` and `make test`. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WEB_STAMP := web/node_modules/.installed
CHROMIUM := /usr/bin/chromium

.PHONY: install run test lint fmt typecheck pytest schema bench clean web webtest browser screenshots

install: $(STAMP)

# Re-install only when the project's dependencies change, so a second run is quick.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The web app: `npm ci` only when the lock file changed (like the Python install above).
$(WEB_STAMP): web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $(WEB_STAMP)

web: $(WEB_STAMP)
	cd web && npm run build

webtest: $(WEB_STAMP)
	cd web && npm run typecheck
	cd web && npm test

# Debian's Chromium for tests/test_web_e2e.py; Playwright's own browser download does not
# work here. apt-get needs root, as on the development machines and in CI.
browser:
	test -x $(CHROMIUM) || (apt-get update -qq && apt-get install -y -qq chromium)

run: install web
	$(BIN)/imagequeue up

test: install lint typecheck webtest web browser pytest

# Re-takes the README's screenshots (docs/screenshots/) with the end-to-end test.
screenshots: install web browser
	SAVE_SCREENSHOTS=1 $(BIN)/pytest tests/test_web_e2e.py

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
	$(BIN)/python -m bench.process_cpu
	$(BIN)/python -m bench.worker_memory
	$(BIN)/python -m bench.upload_path --duration-s 10   # full size: the default 30 s
	$(BIN)/python -m bench.fanout

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache web/node_modules web/dist
