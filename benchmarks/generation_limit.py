"""Contrastive search against its physical limit, expanded vs shared-cache candidate scoring.

::

    python benchmarks/generation_limit.py --json benchmarks/results/generation_limit.json [--quick]

In this process (transformers of the main environment), 1 thread, process CPU time: for each model
and batch, contrastkit's ``contrastive_search`` with ``candidate_scoring="expanded"`` (the ``k``-fold
expanded KV cache, as transformers 4.55) and ``"shared"`` (one cache per row, 4D mask), alternating
for ``--rounds`` rounds after a warm-up, fastest run kept. The **limit** is measured inside the
shared runs: the CPU time spent in the model body's forward (prompt + one forward of the ``k``
candidates per step against the shared cache) and in the LM head (prompt's last position + the
chosen rows), i.e. the network arithmetic any exact implementation must do; ``× limit`` is a run's
total time over that. Both modes must return identical ids (checked). Models: ``gpt2-small-random``
(GPT-2, 6 layers, d 384, V 8000) and ``smollm2-135m-shape`` (Llama with SmolLM2-135M's shape:
30 layers, d 576, 9 heads / 3 KV heads, V 49152; random weights: speed does not depend on them).
transformers 4.55.4 is not run here (its ``generate`` contrastive mode was removed from transformers
5's core); ``benchmarks/generation_hf4.py`` runs both implementations under 4.55.4, with the same
limit column. ``--device cuda``: wall time between ``torch.cuda.synchronize()`` calls.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def build(name: str) -> torch.nn.Module:
    from contrastkit.generation._testing import tiny_gpt2

    if name == "gpt2-small-random":
        return tiny_gpt2(0, std=0.2, vocab_size=8000, n_positions=256, n_embd=384, n_layer=6, n_head=6)
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                      num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=2048,
                      rms_norm_eps=1e-5, rope_theta=100000.0, tie_word_embeddings=True)
    return LlamaForCausalLM(cfg).eval()


class Meter:
    """Accumulates the time spent inside wrapped modules' forward (process CPU time unless ``clock`` is set)."""

    def __init__(self, clock: Any = None) -> None:
        self.seconds = 0.0
        self.depth = 0
        self.clock = clock or time.process_time

    def wrap(self, module: torch.nn.Module) -> None:
        original = module.forward

        def timed(*args: Any, **kwargs: Any) -> Any:
            self.depth += 1
            t0 = self.clock()
            try:
                return original(*args, **kwargs)
            finally:
                self.depth -= 1
                if self.depth == 0:
                    self.seconds += self.clock() - t0

        module.forward = timed  # type: ignore[method-assign]


def _commit() -> str:
    import subprocess

    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _uptime() -> str:
    import subprocess

    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=["gpt2-small-random", "smollm2-135m-shape"])
    ap.add_argument("--batches", nargs="+", type=int, default=[8])
    ap.add_argument("--prompt-len", type=int, default=32)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--top-k", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="gpt2-small-random, batch 2, 8 tokens, 1 round")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                    help="cuda: wall time between torch.cuda.synchronize() calls instead of process CPU time")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if args.quick:
        args.models, args.batches, args.new_tokens, args.rounds = ["gpt2-small-random"], [2], 8, 1
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch.cuda.is_available() is False")
    torch.set_num_threads(1)
    import transformers

    if args.device == "cuda":
        def now() -> float:
            torch.cuda.synchronize()
            return time.perf_counter()
    else:
        now = time.process_time

    from contrastkit.generation import contrastive_search

    load_start = list(os.getloadavg())
    results = []
    for name in args.models:
        model = build(name).to(args.device)
        meter = Meter(now)
        meter.wrap(model.base_model)
        meter.wrap(model.get_output_embeddings())
        vocab = model.get_output_embeddings().weight.shape[0]
        for batch in args.batches:
            g = torch.Generator().manual_seed(1234)
            ids = torch.randint(10, min(vocab, 5000), (batch, args.prompt_len), generator=g)
            mask = torch.ones_like(ids)
            mask[1::2, : args.prompt_len // 4] = 0  # every other row left-padded
            ids[1::2, : args.prompt_len // 4] = 0
            ids, mask = ids.to(args.device), mask.to(args.device)
            best: dict[str, float] = {}
            limit = float("inf")
            outs = {}
            for r in range(args.rounds + 1):  # round 0: warm-up
                for mode in ("expanded", "shared"):
                    meter.seconds = 0.0
                    t0 = now()
                    with torch.no_grad():
                        outs[mode] = contrastive_search(model, ids, mask, top_k=args.top_k, penalty_alpha=0.6,
                                                        max_new_tokens=args.new_tokens, eos_token_id=[],
                                                        pad_token_id=0, candidate_scoring=mode)
                    took = now() - t0
                    if r == 0:
                        continue
                    best[mode] = min(best.get(mode, float("inf")), took)
                    if mode == "shared":
                        limit = min(limit, meter.seconds)
            same = outs["expanded"].tolist() == outs["shared"].tolist()
            rec = dict(model=name, batch=batch, prompt_len=args.prompt_len, new_tokens=args.new_tokens,
                       top_k=args.top_k, expanded_s=best["expanded"], shared_s=best["shared"], limit_s=limit,
                       expanded_x_limit=best["expanded"] / limit, shared_x_limit=best["shared"] / limit,
                       shared_speedup=best["expanded"] / best["shared"], same_ids=same,
                       loadavg=list(os.getloadavg()))
            results.append(rec)
            print(f"{name} B={batch}: expanded {best['expanded']:.2f}s ({rec['expanded_x_limit']:.2f}x limit), "
                  f"shared {best['shared']:.2f}s ({rec['shared_x_limit']:.2f}x), limit {limit:.2f}s, same {same}",
                  file=sys.stderr, flush=True)
    data = dict(meta=dict(date=time.strftime("%Y-%m-%d %H:%M:%S %Z"), torch=torch.__version__,
                          transformers=transformers.__version__, threads=1, device=args.device,
                          timing=("process CPU time" if args.device == "cpu" else "wall time, CUDA-synchronised")
                          + ", min over rounds", commit=_commit(), uptime_end=_uptime(),
                          loadavg_start=load_start, loadavg_end=list(os.getloadavg()),
                          machine="shared 2-core box"), results=results)
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    main()
