# pocketrelay: the two set-up commands are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench soak fuzz clean

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

# Every benchmark (benchmarks/run.py) in its short form, a few minutes, then
# one table; fails when a figure misses its target or a benchmark fails.
# BENCH_ARGS=--full runs the long forms; BENCH_ARGS="--write
# docs/performance.md" also regenerates the performance page.
BENCH_ARGS ?=
bench: $(STAMP)
	$(PY) -m benchmarks.run $(BENCH_ARGS)

# Memory soak: 500 players play for 20 minutes against a server process;
# fails if the server's memory grows more than 5% after the warm-up, if
# the server logged a warning, error or traceback, if a player hit any
# error, or if too few memory samples were taken.
# SOAK_ARGS=--quick is a 60 s smoke run (memory growth not judged).
soak: $(STAMP)
	$(PY) -m benchmarks.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) _trial_temp build *.egg-info twisted/plugins/dropin.cache

FUZZ_RUNS ?= 1000000
FUZZ_TARGETS ?= tdf-generic tdf-declared frames blaze-server http-server telemetry redirector udp-tunnel http-tunnel

# Coverage-guided fuzzing with atheris: FUZZ_RUNS inputs per target.  A
# crash stops here, prints the end of the log and leaves the input in
# fuzz/crashes/ (copy it to fuzz/regressions/TARGET/ once fixed).
fuzz: $(STAMP)
	$(PY) -m pip install --quiet atheris
	mkdir -p fuzz/logs
	for target in $(FUZZ_TARGETS); do \
		echo "== fuzzing $$target ($(FUZZ_RUNS) runs)"; \
		if ! $(PY) -m fuzz.run $$target -runs=$(FUZZ_RUNS) -print_final_stats=1 \
				> fuzz/logs/$$target.log 2>&1; then \
			tail -n 40 fuzz/logs/$$target.log; exit 1; \
		fi; \
		grep -E "^Done|stat::number_of_executed_units|stat::peak_rss_mb" fuzz/logs/$$target.log; \
	done
