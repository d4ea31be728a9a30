#!/usr/bin/env bash
# Parity of contrastkit's contrastive search with transformers 4.55.4 (last release with it in core).
# Creates .venv-hf4 once, (re)writes tests/hf4/golden_contrastive.json when asked, runs tests/hf4.
# Usage: bash scripts/hf4_parity.sh [--regen]        (Makefile target: hf4-parity)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-hf4/bin/python ]; then
  python3 -m venv .venv-hf4
  # torch pinned in the same command and taken from the CPU wheel index: otherwise pip resolves the
  # multi-GB CUDA build
  .venv-hf4/bin/pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
  .venv-hf4/bin/pip install torch==2.13.0 transformers==4.55.4 safetensors numpy pytest \
    --extra-index-url https://download.pytorch.org/whl/cpu
fi
.venv-hf4/bin/python -c "import transformers; assert transformers.__version__ == '4.55.4', transformers.__version__"
if [ "${1:-}" = "--regen" ]; then
  PYTHONPATH=src .venv-hf4/bin/python tests/hf4/make_golden.py
fi
PYTHONPATH=src .venv-hf4/bin/python -m pytest tests/hf4 -m hf4 -q -p no:cacheprovider
