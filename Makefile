# escrowlab: `make demo` and `make test` bootstrap .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean fuzz

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/escrowlab demo --escrow none
	$(BIN)/escrowlab demo --escrow threshold

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider

# The full fuzz run (about 7-15 minutes on two cores); FUZZ_INPUTS=50000 for a medium one.
FUZZ_INPUTS ?= 1000000
fuzz: $(STAMP)
	$(BIN)/escrowlab fuzz --inputs $(FUZZ_INPUTS) --crashes fuzz-crashes

bench: $(STAMP)
	$(BIN)/escrowlab bench all

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
