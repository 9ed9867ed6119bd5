# make demo : set up .venv (if needed) and train the two-layer network
# make test : set up .venv (if needed) and run the test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev,examples]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/two_layer_optim.py --optimizer sgd

test: $(STAMP)
	$(PY) -m pytest -n auto --dist loadfile

bench: $(STAMP)
	$(PY) examples/benchmarks/op_overhead.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
