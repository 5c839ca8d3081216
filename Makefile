# Two entry points for a newcomer: `make demo` and `make test`. Each creates the
# virtual environment in .venv and installs what it needs on first use.

PYTHON ?= python3.11
VENV ?= .venv
BIN = $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install demo serve test benchmarks evals

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstalls whenever pyproject.toml changes. The local-llm extra compiles
# llama-cpp-python once (about six minutes on two cores); pip caches the wheel.
$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[test,local-llm]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/assistant demo

serve: install
	$(BIN)/assistant serve

test: install
	scripts/ensure-services
	test -x /usr/bin/chromium || scripts/ensure-browser
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

benchmarks: install
	scripts/ensure-services
	$(BIN)/python -m benchmarks

evals: install
	$(BIN)/python -m evals
