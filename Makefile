# The two commands: `make report` and `make test`. Both create .venv on first use
# (Python 3.11 and pip only) from the pinned lock file, and are quick when nothing changed.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?= evaluation.yml
# Real DfE files beside the repository (the development layout) may be read by the LA
# analysis of the mentors report; the configuration itself cannot point outside the project.
export EVALUATE_DATA_ROOTS ?= $(wildcard $(abspath ../shared/data))

.PHONY: all report test test-fast lint lock data panel clean help
all: report

help:
	@echo "make report  - set up, build the synthetic data, run every stage, render every report"
	@echo "make test    - set up and run the test suite (every test; the 15 slowest listed)"
	@echo "make test-fast - the edit loop: the tests not marked slow, stop at the first failure"
	@echo "make accessibility - check the rendered HTML reports with axe-core in headless Chromium"
	@echo "make lint    - ruff"
	@echo "make docs    - render the researcher's guide to output/guide"
	@echo "make api     - build the API reference to output/api"
	@echo "make lock    - regenerate requirements.lock from pyproject.toml"

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 >/dev/null
	touch $(STAMP)

report: $(STAMP)
	$(BIN)/evaluate run --config $(CONFIG)
	$(BIN)/evaluate report --config $(CONFIG)

data: $(STAMP)
	$(BIN)/evaluate run --config $(CONFIG) --until panel

# The accessibility check's pinned Node packages (axe-core, playwright-core), when npm is
# there; without them (or without Chromium) tests/report/test_accessibility.py is skipped
# with the reason.
A11Y       := tools/accessibility
A11Y_STAMP := $(A11Y)/node_modules/.installed
$(A11Y_STAMP): $(A11Y)/package.json $(A11Y)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix $(A11Y) --no-audit --no-fund --loglevel=error && touch $@ \
	    || echo "npm ci failed: the accessibility check will be skipped"; \
	else echo "npm not found: the accessibility check will be skipped"; fi

.PHONY: a11y-deps accessibility
a11y-deps: $(A11Y_STAMP)

test: $(STAMP) a11y-deps
	$(BIN)/python -m pytest -q --durations=15

# The edit loop: every test not marked slow (tests/conftest.py says which are), stopping at
# the first failure; about 80 s on 2 cores. `make test` still runs them all.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" -x --durations=10

# Check the rendered reports (and OUTPUT/guide) in headless Chromium: results/accessibility.json.
accessibility: $(STAMP) a11y-deps
	$(BIN)/evaluate accessibility --config $(CONFIG)

lint: $(STAMP)
	$(BIN)/ruff check src tests analysis benchmarks

# The researcher's guide (docs/guide/*.qmd) to output/guide/, rendered from a small example
# run of its own (evaluate.guide); GUIDE_FLAGS=--pdf adds PDFs.
.PHONY: docs api
docs: $(STAMP)
	$(BIN)/python -m evaluate.guide output/guide $(GUIDE_FLAGS)

# The API reference from the numpydoc docstrings (pdoc), to output/api/index.html.
api: $(STAMP)
	$(BIN)/python -c "from evaluate.apidocs import build_api; print(build_api('output/api'))"

# Regenerate the pinned lock from pyproject.toml (needs the registry).
lock: $(STAMP)
	$(BIN)/pip-compile --quiet --extra dev --strip-extras --no-emit-index-url --no-emit-find-links \
	  --output-file requirements.lock pyproject.toml

clean:
	rm -rf output results reports/_output data/synthetic
