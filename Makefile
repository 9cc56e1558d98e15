# mobility_plan — the two front-door commands are `make plan` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: plan test bench app sweep clean

$(STAMP): pyproject.toml requirements.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## plan: set up .venv and run the shipped scenarios end to end (outputs in outputs/)
plan: $(STAMP)
	$(BIN)/mobility-plan plan all --out outputs --overwrite

## test: set up .venv and run the whole offline test suite, on TEST_WORKERS processes (one file per process
## at a time, so that module fixtures and AppTest sessions stay in one process)
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

## bench: run the benchmarks (prints ratios against baselines measured in the same run)
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_costs.py
	$(BIN)/python benchmarks/validate_fleet.py
	$(BIN)/python benchmarks/bench_app.py
	$(BIN)/python benchmarks/bench_notebooks.py
	$(BIN)/python benchmarks/bench_sweep.py

clean:
	rm -rf $(VENV) .pytest_cache build src/*.egg-info

## app: start the Streamlit app on http://localhost:8501
app: $(STAMP)
	$(BIN)/streamlit run app.py --server.headless false

## sweep: run the shipped 16-run hydrogen sweep on a local Dask cluster (outputs/sweep)
sweep: $(STAMP)
	$(BIN)/mobility-plan sweep h2_range_stations --out outputs/sweep --overwrite
