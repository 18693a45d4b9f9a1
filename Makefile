# Two commands for a fresh machine (Python 3.10+, no GPU needed):
#   make demo   set up .venv and run the lab demo
#   make test   set up .venv and run the test suite (what CI runs)
PYTHON ?= python3
VENV := .venv
# CPU build of torch from the local wheel; on a GPU machine: make setup TORCH_SPEC=torch LOCKED=0
TORCH_SPEC ?= torch==2.13.0
# LOCKED=1: the exact, hash-checked versions of requirements.lock (Python 3.11, Linux x86-64: the machine the
# README's figures come from). LOCKED=0: the newest versions pyproject.toml allows (other Pythons, GPU torch).
LOCKED ?= $(shell $(PYTHON) -c 'import sys; print(int(sys.version_info[:2] == (3, 11)))')

.PHONY: setup demo test lint clean lock

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q "$(TORCH_SPEC)"
ifeq ($(LOCKED),1)
	$(VENV)/bin/pip install -q --require-hashes --no-deps -r requirements.lock
	$(VENV)/bin/pip install -q --no-deps -e .
	$(VENV)/bin/pip check
else
	$(VENV)/bin/pip install -q -e ".[dev,lm-eval]"
endif
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/xinstruct demo

test: setup
	$(VENV)/bin/python -m pytest -q tests

lint: setup
	$(VENV)/bin/ruff check src tests bench

# Remake requirements.lock from pyproject.toml (needs PyPI): a fresh venv, torch first, then freeze and hash.
lock:
	rm -rf /tmp/xinstruct-lock && $(PYTHON) -m venv /tmp/xinstruct-lock
	/tmp/xinstruct-lock/bin/pip install -q "$(TORCH_SPEC)" && /tmp/xinstruct-lock/bin/pip install -q ".[dev,lm-eval]" uv
	/tmp/xinstruct-lock/bin/pip freeze --exclude-editable | grep -v -i -E '^(xinstruct|uv|torch|nvidia|triton)[=@ -]' \
		> /tmp/xinstruct-lock/lock.in
	head -4 requirements.lock > /tmp/xinstruct-lock/header
	/tmp/xinstruct-lock/bin/uv pip compile /tmp/xinstruct-lock/lock.in --no-deps --generate-hashes \
		--python-version 3.11 --no-header --no-annotate -o /tmp/xinstruct-lock/body
	cat /tmp/xinstruct-lock/header /tmp/xinstruct-lock/body > requirements.lock

clean:
	rm -rf $(VENV) xinstruct-demo
