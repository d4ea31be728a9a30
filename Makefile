# contrastkit: `make demo` trains the embedded default; `make test` runs the default suite.
# torch is always pinned in the same pip command: an unpinned torch resolves to a multi-GB CUDA build.
PYTHON ?= python3
VENV ?= .venv
PIP := $(VENV)/bin/pip
TORCH := torch==2.13.0

.PHONY: demo test test-no-data test-slow lint docs data peer-parity hf4-parity bench bench-hf4 clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.core-installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q $(TORCH) -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q $(TORCH) -e ".[test]"
	# MovieLens-100k ships inside the recbole wheel; only its data files are read (its own pins are unwanted)
	$(PIP) install -q --no-deps recbole==1.2.1
	touch $@ $(VENV)/.core-installed

demo: $(VENV)/.core-installed
	rm -rf runs/demo
	$(VENV)/bin/contrastkit train recipes/simclr-digits.yaml --output runs/demo

# Optional Debian data (Fashion-MNIST, fortunes, WordNet, the espeak-ng / flite / sox speech synthesisers):
# installed when root and apt-get are available (best
# effort, never fails the build); tests that need it skip with a reason when it is absent.
data:
	-@if [ -n "$$CONTRASTKIT_HIDE_OPTIONAL_DATA" ]; then \
		echo "CONTRASTKIT_HIDE_OPTIONAL_DATA is set: not installing the optional data"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		timeout 600 apt-get update -qq && timeout 600 apt-get install -y -qq dataset-fashion-mnist fortunes wordnet-base espeak-ng flite sox >/dev/null \
		|| echo "apt-get failed: Fashion-MNIST / fortunes / WordNet / speech tests will skip"; \
	else echo "skipping apt-get (not root or no apt-get): Fashion-MNIST / fortunes / WordNet / speech tests will skip"; fi

test: $(VENV)/.test-installed data
	$(VENV)/bin/pytest -q

# The suite as on a machine without the optional data (loaders ignore it; its tests skip with a reason).
test-no-data: $(VENV)/.test-installed
	CONTRASTKIT_HIDE_OPTIONAL_DATA=1 $(VENV)/bin/pytest -q

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

# Contrastive search vs transformers 4.55.4's own implementation, both in one 4.55.4 environment
# (.venv-hf4, never part of the project's install): contrastkit is imported from src/.
HF4_VENV ?= .venv-hf4
CPU_WHEELS := https://download.pytorch.org/whl/cpu

$(HF4_VENV)/bin/python:
	$(PYTHON) -m venv $(HF4_VENV)
	$(HF4_VENV)/bin/pip install -q $(TORCH) --index-url $(CPU_WHEELS)
	$(HF4_VENV)/bin/pip install -q $(TORCH) transformers==4.55.4 safetensors numpy pytest --extra-index-url $(CPU_WHEELS)

bench-hf4: $(HF4_VENV)/bin/python
	PYTHONPATH=src $(HF4_VENV)/bin/python benchmarks/generation_hf4.py --json benchmarks/results/generation_hf4.json

bench: $(VENV)/.test-installed
	$(VENV)/bin/python -m benchmarks.losses --json benchmarks/results/losses.json

clean:
	rm -rf runs .pytest_cache site
