# contrastkit: `make demo` trains the embedded default; `make test` runs the default suite.
# torch is always pinned in the same pip command: an unpinned torch resolves to a multi-GB CUDA build.
PYTHON ?= python3
VENV ?= .venv
PIP := $(VENV)/bin/pip
TORCH := torch==2.13.0

.PHONY: demo test test-slow lint docs data peer-parity hf4-parity bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.core-installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q $(TORCH) -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q $(TORCH) -e ".[test]"
	touch $@ $(VENV)/.core-installed

demo: $(VENV)/.core-installed
	rm -rf runs/demo
	$(VENV)/bin/contrastkit train recipes/simclr-digits.yaml --output runs/demo

# Optional Debian data (Fashion-MNIST, fortunes); tests that need it skip with a reason when absent.
data:
	-@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist fortunes >/dev/null; \
	else echo "skipping apt-get (not root): Fashion-MNIST / fortunes tests will skip"; fi

test: $(VENV)/.test-installed
	$(VENV)/bin/pytest -q

test-slow: $(VENV)/.test-installed
	$(VENV)/bin/pytest -q -m slow

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check src tests benchmarks

# The documentation site (mkdocs + mkdocstrings), built offline; --strict turns every warning into an error.
docs: $(VENV)/.test-installed
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

peer-parity:
	bash scripts/peer_parity.sh

hf4-parity:
	bash scripts/hf4_parity.sh

bench: $(VENV)/.test-installed
	$(VENV)/bin/python -m benchmarks.losses --json benchmarks/results/losses.json

clean:
	rm -rf runs .pytest_cache site
