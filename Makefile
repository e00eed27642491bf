# make demo: set up .venv and solve the bundled example region (writes plan.gpkg)
# make test: set up .venv and run the whole test suite
# make test-newest: the fast tests in a fresh .venv-newest holding the newest releases pyproject.toml allows
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast test-newest bench example clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Headless Chromium for the report's browser test (Debian's chromium): installed only when running as root
# with apt-get and none is there yet; never fails the build (the test is skipped without it).
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium could not be installed: the report's browser test will be skipped"; \
	else echo "no chromium (install Debian's chromium as root): the report's browser test will be skipped"; fi

demo: $(STAMP)
	$(BIN)/dualuse solve data/example_region.gpkg -o plan.gpkg --overwrite

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

# make test-fast: everything but the slow tests (pools, Dask, subprocesses, signals, Chromium, fuzzing)
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# make test-newest: a fresh venv with the newest release of every dependency that pyproject.toml's bounds
# allow (whatever .venv holds), a table of the installed releases and of the newer ones the upper bounds keep
# out, then the fast tests (NEWEST_TESTS='tests/test_json.py' for others)
NEWEST := .venv-newest
NEWEST_TESTS ?= -m "not slow"
test-newest:
	rm -rf $(NEWEST)
	$(PYTHON) -m venv $(NEWEST)
	$(NEWEST)/bin/python -m pip install --quiet --upgrade pip
	$(NEWEST)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[test]'
	$(NEWEST)/bin/python tools/newer_releases.py
	$(NEWEST)/bin/python -m pytest -q $(NEWEST_TESTS)

# make bench: the structured path, the generic path and the bare-highspy floor side by side, at SIZES and on the
# hard variant at HARD (SIZES=100000 HARD= for a quicker run)
SIZES ?= 100000,1000000
HARD ?= 100000
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_scale.py --sizes $(SIZES) --hard "$(HARD)"

example: $(STAMP)
	$(BIN)/dualuse example -o data/example_region.gpkg --parcels 2000 --seed 42

clean:
	rm -rf $(VENV) $(NEWEST) plan.gpkg .pytest_cache
