"""Write golden_contrastive.json from transformers 4.55.4 (run inside .venv-hf4, see scripts/hf4_parity.sh)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import transformers

sys.path.insert(0, str(Path(__file__).parent))
from cases import CASES, hf_generate  # noqa: E402


def main() -> None:
    if not transformers.__version__.startswith("4.55"):
        raise SystemExit(f"run this with transformers 4.55.x, found {transformers.__version__}")
    torch.set_num_threads(1)
    cases = [json.dumps(c | {"expected": hf_generate(c)}) for c in CASES]
    text = (f'{{"transformers": "{transformers.__version__}", "torch": "{torch.__version__}",\n "cases": [\n  '
            + ",\n  ".join(cases) + "\n]}\n")
    json.loads(text)
    path = Path(__file__).with_name("golden_contrastive.json")
    path.write_text(text)
    print(f"wrote {path} ({len(CASES)} cases)")


if __name__ == "__main__":
    main()
