# Two commands do all set-up on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_VERSION ?= 2.13.0
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
EXTRAS := local,embeddings,dataset,postgres,web,ray,docs,dev

.PHONY: install demo test test-fast lint typecheck lock clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# A CPU build of torch first: a bare requirement would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install -q torch==$(TORCH_VERSION)
	# llama-cpp-python compiles from source (several minutes on 2 cores), for any x86-64 with AVX2 rather than
	# -march=native: built natively on a CPU with AMX, llama.cpp ran AMX tile instructions that the sandbox's kernel
	# does not allow, and every embedded-model call died with SIGILL. No pip cache for it: a wheel cached from a
	# native build would come back under the same key.
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install -q --no-cache-dir -c constraints.txt llama-cpp-python
	# constraints.txt pins the resolved set: unpinned, pip backtracks for hours (gradio vs transformers).
	PYTHONWARNINGS='ignore:Editable installation' $(BIN)/python -m pip install -q -c constraints.txt \
		-e '.[$(EXTRAS)]'
	@touch $(STAMP)

# The project itself is installed in setuptools' strict editable mode: build/__editable__.explore_instruct-*/
# holds explore_instruct/{agent,graphs,tools}/ as links to the files here, and a .pth file names that folder
# as a plain path, so mypy, IDEs and `import` all resolve explore_instruct.tools.tree.model to tools/tree/model.py. (The
# default, lenient mode maps agent/ -> explore_instruct.agent with an import hook; mypy cannot follow it:
# "Can't find package 'explore_instruct.tools'".) Links are per file, so edits show at once, but a module or
# data file that is added, removed or renamed needs a re-link (1-2 s, no network): `install`, and so every
# target below, re-links whenever the package files here and the links there disagree. After adding a module,
# run `make install` (or any target) before calling .venv/bin/pytest or mypy directly.
# Its own pip call: --config-settings would also reach every other package built from source (llama-cpp-python).
PKG_DIRS := agent graphs tools
PACKAGED := find $(PKG_DIRS) -name __pycache__ -prune -o -type f \( -name '*.py' -o -name '*.yaml' -o -name '*.json' -o -name py.typed \) -print
LINKED := cd "$$(cat $(VENV)/lib/python*/site-packages/__editable__.explore_instruct-*.pth)/explore_instruct" && find $(PKG_DIRS) ! -type d

install: $(STAMP)
	@want="$$($(PACKAGED) | LC_ALL=C sort)"; have="$$( ($(LINKED)) 2>/dev/null | LC_ALL=C sort)"; \
	if [ "$$want" != "$$have" ]; then \
		echo "linking the editable install (strict mode) to the files in $(PKG_DIRS)"; \
		lock=$$(command -v flock >/dev/null && echo "flock $(VENV)/.link.lock"); \
		PYTHONWARNINGS='ignore:Editable installation' $$lock $(BIN)/python -m pip install -q --no-deps \
			--no-build-isolation --config-settings editable_mode=strict -e . || exit 1; \
		linked=$$(mktemp); ($(LINKED)) > $$linked 2>/dev/null; \
		if $(PACKAGED) | grep -vxF -f $$linked; then \
			echo "^ not in the package: list a new subpackage in [tool.setuptools] packages (pyproject.toml)" >&2; fi; \
		rm -f $$linked; \
	fi

demo: install
	HF_HUB_OFFLINE=1 $(BIN)/explore-instruct run --preset rewriting \
		--out runs/demo-$$(date +%Y%m%d-%H%M%S) --depth 2 --breadth 3,2 \
		--examples 4 --examples-per-call 4

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy reads the modules through the link tree; its report names them by their paths here (tools/x.py).
typecheck: install
	@echo $(BIN)/mypy; out=$$(mktemp); $(BIN)/mypy > $$out 2>&1; rc=$$?; \
	sed -E 's#^([^: ]*/)?build/__editable__[^/]*/explore_instruct/##' $$out; rm -f $$out; exit $$rc

test: install lint typecheck
	HF_HUB_OFFLINE=1 $(BIN)/pytest

test-fast: install
	$(BIN)/pytest -m "not embedded and not slow"

# After changing dependencies in pyproject.toml: `$(BIN)/pip install -e '.[$(EXTRAS)]'` into the working .venv
# (incremental, so pip resolves only what changed), then `make lock` freezes that venv into constraints.txt.
lock:
	{ sed -n '1,3p' constraints.txt; $(BIN)/python -m pip freeze --all --exclude-editable 2>/dev/null \
		| grep -vE '^pip==' | sed -E 's/^torch==([0-9.]+)\+cpu$$/torch==\1/; s/^([A-Za-z0-9_.-]+) @ .*-([0-9][^-]*)-.*$$/\1==\2/'; \
	} > constraints.txt.new && mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
