# Every target sets up its own virtualenv; a fresh machine needs only Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000

.PHONY: demo build serve test test-long bench lint clean

$(VENV)/.python-ok:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "mediahub needs Python 3.11 or newer: set PYTHON=python3.11 (or newer)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@touch $@

$(VENV)/.installed: $(VENV)/.python-ok pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.test-installed: $(VENV)/.python-ok pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/python feeds/redate.py
	-$(BIN)/mediahub aggregate --all
	$(BIN)/mediahub build
	$(BIN)/mediahub serve --port $(PORT)

build: $(VENV)/.installed
	$(BIN)/mediahub build

test: $(VENV)/.test-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The full-count fault suite (kill loops etc.); CI runs this.
test-long: $(VENV)/.test-installed
	MEDIAHUB_LONG=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.test-installed
	$(BIN)/python -m bench $(NAME)

lint: $(VENV)/.test-installed
	$(BIN)/python -m pip install --quiet ruff mypy types-PyYAML
	$(BIN)/ruff check mediahub tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) public .mediahub .pytest_cache
