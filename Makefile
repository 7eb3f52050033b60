# Everything runs inside the project's own virtual environment at .venv/.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench browser lint clean

## setup: create .venv and install the project (idempotent; the second run is instant)
setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# The pinned CPU torch first: anything unpinned would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

## demo: set up, build the index for seeds/ if missing or stale, serve the UI on http://127.0.0.1:7860
demo: setup
	$(BIN)/rag build --if-stale
	$(BIN)/rag serve

## browser: Debian's chromium for the page tests (installed only when missing)
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

## test: set up and run the whole suite
test: setup browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

## bench: re-run the benchmarks recorded in BENCHMARKS.md
bench: setup
	$(BIN)/python benchmarks/run_all.py

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) embeddings/*.faiss embeddings/index-*
