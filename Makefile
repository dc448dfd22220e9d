# Two entry points that work on a fresh machine: `make demo` and `make test`.
# Each creates .venv and installs the pinned dependencies (constraints.txt) on its own.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
EXTRAS ?= dev,decord,onnx,cluster

.PHONY: demo test lint bench clean device-check

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[$(EXTRAS)]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/animevid demo --out demo-output

lint: $(STAMP)
	$(BIN)/ruff check animevid tests bench
	$(BIN)/ruff format --check animevid tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -q -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python bench/decode.py
	$(BIN)/python bench/shots.py
	$(BIN)/python bench/analysis.py
	$(BIN)/python bench/scenes.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/serve.py
	$(BIN)/python bench/season.py

# On a machine with a CUDA GPU (lent for minutes, no downloads): its own Python, this checkout on the
# path, every GPU check and benchmark row in one run of under 8 minutes, one summary file.
device-check:
	PYTHONPATH=$(CURDIR) $(PYTHON) bench/device_check.py --out $${OUT:-.}/device-check.json

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
