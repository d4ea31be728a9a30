#!/usr/bin/env bash
# Peer-parity tests against lightly and open_clip, which need torchvision.
#
# torchvision pulls torch 2.14.1 (a multi-GB build), so these peers live in their own venv,
# .venv-peers, never in the core environment. The venv is created on first use:
#   1. torch==2.14.1 torchvision==0.29.1 in ONE pip command (pinning both keeps pip from
#      resolving a different torch for torchvision),
#   2. lightly, open-clip-torch and pytest with torch pinned again,
#   3. contrastkit itself with --no-deps plus its light dependencies.
# Then runs `pytest -m peer tests/peer`. Extra arguments are passed to pytest.
#
# Environment: PEER_VENV (default .venv-peers), PYTHON (default python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${PEER_VENV:-$ROOT/.venv-peers}"
PY="${PYTHON:-python3}"
TORCH_PIN="torch==2.14.1"
TV_PIN="torchvision==0.29.1"
STAMP="$VENV/.peer-ready"

if [[ ! -f "$STAMP" ]]; then
    echo "[peer-parity] creating $VENV (torch 2.14.1 + torchvision 0.29.1, ~2.5 min, ~5.5 GB)"
    "$PY" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "$TORCH_PIN" "$TV_PIN"
    "$VENV/bin/pip" install --quiet "$TORCH_PIN" "$TV_PIN" "lightly>=1.6.0" open-clip-torch \
        "pytest>=8" "pytest-timeout>=2" "numpy>=1.24,<2.4" "safetensors>=0.4" "pyyaml>=6" psutil
    "$VENV/bin/pip" install --quiet --no-deps -e "$ROOT"
    "$VENV/bin/python" - <<'PY'
import lightly, open_clip, torch, torchvision
from lightly.loss import DCLLoss, DCLWLoss, NTXentLoss  # noqa: F401
from open_clip.loss import ClipLoss  # noqa: F401
import contrastkit  # noqa: F401
print("[peer-parity] torch", torch.__version__, "torchvision", torchvision.__version__,
      "lightly", lightly.__version__, "open_clip", open_clip.__version__)
PY
    touch "$STAMP"
fi

exec "$VENV/bin/python" -m pytest -m peer tests/peer -p no:cacheprovider "$@"
