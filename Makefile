# pocketrelay: the two set-up commands are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench fuzz clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --config-settings editable_mode=compat -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Install (if needed) and run the server in the foreground on its defaults.
run: $(STAMP)
	$(BIN)/twistd --nodaemon --pidfile= pocketrelay-server $(ARGS)

test: $(STAMP)
	$(PY) -m twisted.trial $(TRIAL_ARGS) tests

lint: $(STAMP)
	$(BIN)/ruff check pocketrelay tests benchmarks twisted
	$(BIN)/mypy pocketrelay tests benchmarks twisted/plugins

bench: $(STAMP)
	$(PY) -m benchmarks.codec

clean:
	rm -rf $(VENV) _trial_temp build *.egg-info twisted/plugins/dropin.cache
