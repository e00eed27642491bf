# make demo: set up .venv and solve the bundled example region (writes plan.gpkg)
# make test: set up .venv and run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench example clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dualuse solve data/example_region.gpkg -o plan.gpkg

test: $(STAMP)
	$(BIN)/python -m pytest -q

example: $(STAMP)
	$(BIN)/dualuse example -o data/example_region.gpkg --parcels 2000 --seed 42

clean:
	rm -rf $(VENV) plan.gpkg .pytest_cache
