# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test validate chat bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/rinconcito serve

chat: $(STAMP)
	$(BIN)/rinconcito chat

test: $(STAMP)
	$(BIN)/rinconcito validate flows
	$(BIN)/rinconcito test
	$(BIN)/rinconcito validate examples/nonna-rosa/flows
	$(BIN)/rinconcito test --dir examples/nonna-rosa/flows
	$(BIN)/mypy --strict engine
	$(BIN)/lint-imports
	bash .ci/browser
	$(BIN)/pytest -q

validate: $(STAMP)
	$(BIN)/rinconcito validate flows

bench: $(STAMP)
	$(BIN)/python bench/runtime.py
	$(BIN)/python bench/corpus.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .import_linter_cache build
