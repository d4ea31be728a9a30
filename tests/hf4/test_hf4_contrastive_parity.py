"""Token-for-token parity of contrastkit's contrastive search with transformers 4.55.4 ``generate``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from cases import CASES, build, hf_generate, ours, shared_supported

pytestmark = pytest.mark.hf4
HERE = Path(__file__).parent
GOLDEN = {c["name"]: c for c in json.loads((HERE / "golden_contrastive.json").read_text())["cases"]}
MAIN_PY = HERE.parents[1] / ".venv" / "bin" / "python"


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_generate_equals_golden_and_ours(case: dict) -> None:
    reference = hf_generate(case)
    assert reference == GOLDEN[case["name"]]["expected"], "golden file is stale: rerun make_golden.py"
    assert ours(case) == reference
    if case["kind"] != "t5":
        assert ours(case, use_fast_head=False) == reference
        modes = ("expanded", "shared") if shared_supported(case) else ("expanded",)
        for mode in modes:  # the default ("auto") is "shared" on 4.55 where supported
            assert ours(case, candidate_scoring=mode) == reference, mode
            assert ours(case, candidate_scoring=mode, use_fast_head=False) == reference, mode
        if not shared_supported(case):
            with pytest.raises(ValueError, match="candidate_scoring: 'shared' is not supported"):
                ours(case, candidate_scoring="shared")


def test_notes_case_with_transformers_init() -> None:
    """Parity fixture: the library's own init, seed 0, expected ids recorded with transformers 4.49."""
    from transformers import GPT2Config, GPT2LMHeadModel

    from contrastkit.generation import contrastive_search

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=101, n_positions=64, n_embd=32, n_layer=2, n_head=2)).eval()
    ids = torch.tensor([[5, 17, 42, 8, 99]])
    ref = model.generate(ids, attention_mask=torch.ones_like(ids), penalty_alpha=0.6, top_k=4,
                         max_new_tokens=20, do_sample=False, pad_token_id=0)
    recorded = [34, 88, 91, 16, 28, 33, 85, 92, 30, 86, 44, 80, 57, 54, 77, 81, 21, 31, 78, 73]
    assert ref[0, 5:].tolist() == recorded
    assert contrastive_search(model, ids, top_k=4, penalty_alpha=0.6, max_new_tokens=20,
                              eos_token_id=[]).tolist() == ref.tolist()


def test_reference_has_no_early_stop_difference() -> None:
    """The EOS cases really stop early (otherwise they would not test EOS handling)."""
    for name in ("gpt2_eos_batch2", "t5_k3_eos"):
        case = GOLDEN[name]
        rows = case["expected"]
        assert any(case["eos"] in r[:-1] for r in rows)


@pytest.mark.skipif(not MAIN_PY.exists(), reason="main .venv (transformers 5.x) not found")
def test_main_environment_matches_reference() -> None:
    """contrastkit under the main environment's transformers (5.x) gives 4.55.4's ids."""
    code = (
        "import json, sys, torch; torch.set_num_threads(1); sys.path.insert(0, sys.argv[1]);"
        "from cases import CASES, ours; import transformers;"
        "print(json.dumps({'v': transformers.__version__,"
        " 'out': {c['name']: ours(c) for c in CASES if not c.get('hf4_only')}}))"
    )
    env = dict(os.environ, PYTHONPATH=str(HERE.parents[1] / "src"))
    res = subprocess.run([str(MAIN_PY), "-c", code, str(HERE)], capture_output=True, text=True, env=env,
                         check=True, timeout=300)
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert not got["v"].startswith("4.55")
    for name, ids in got["out"].items():
        assert ids == GOLDEN[name]["expected"], name
    _ = build  # cases.build is exercised through ours()
    print(f"main environment transformers {got['v']}: {len(got['out'])} cases equal", file=sys.stderr)
