# Two commands do all set-up on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_VERSION ?= 2.13.0

.PHONY: install demo test test-fast lint typecheck clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# A CPU build of torch first: a bare requirement would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install -q torch==$(TORCH_VERSION)
	# llama-cpp-python compiles from source the first time (several minutes on 2 cores).
	$(BIN)/python -m pip install -q -e '.[local,embeddings,dataset,postgres,dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: install
	HF_HUB_OFFLINE=1 $(BIN)/explore-instruct run --domain "rewriting business emails for clarity and tone" \
		--out runs/demo-$$(date +%Y%m%d-%H%M%S) --depth 2 --breadth 2,2 --subtasks-per-call 2 \
		--examples 4 --examples-per-call 4

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

test: install lint typecheck
	HF_HUB_OFFLINE=1 $(BIN)/pytest

test-fast: install
	$(BIN)/pytest -m "not embedded and not slow"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
