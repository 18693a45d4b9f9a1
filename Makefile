# Two commands for a fresh machine (Python 3.10+, no GPU needed):
#   make demo   set up .venv and run the lab demo
#   make test   set up .venv and run the test suite (what CI runs)
PYTHON ?= python3
VENV := .venv
# CPU build of torch from the local wheel; on a GPU machine: make setup TORCH_SPEC=torch
TORCH_SPEC ?= torch==2.13.0

.PHONY: setup demo test lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q "$(TORCH_SPEC)"
	$(VENV)/bin/pip install -q -e ".[dev,lm-eval]"
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/xinstruct demo

test: setup
	$(VENV)/bin/python -m pytest -q tests

lint: setup
	$(VENV)/bin/ruff check src tests bench

clean:
	rm -rf $(VENV) xinstruct-demo
