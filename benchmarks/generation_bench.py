"""Contrastive search throughput: contrastkit (main venv, transformers 5.x) vs transformers 4.55.4 core.

Cross-version: the speed-up mixes the implementation with the two transformers releases' per-call
overhead. ``benchmarks/generation_hf4.py`` is the same-version comparison (both under 4.55.4).

Run from the repository root with the main environment::

    .venv/bin/python benchmarks/generation_bench.py --json benchmarks/results/generation.json

It times contrastkit in this process and transformers 4.55.4 ``generate(penalty_alpha, top_k)`` in
``.venv-hf4`` (a subprocess running this file with ``--impl hf``; create it with
``scripts/hf4_parity.sh``). Both sides build identical seeded weights (or load the same SmolLM2
safetensors folder), decode the same prompts and must produce the same ids (checked). Tokens/s counts
generated tokens only (batch x new tokens) over the fastest timed run: the machine is shared, so the
two implementations alternate for ``--rounds`` rounds of ``--repeats`` runs (after one warm-up each)
and the minimum time per side is kept (the median is stored too).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

MODELS: dict[str, dict[str, Any]] = {
    "gpt2-tiny": dict(vocab_size=1000, n_positions=256, n_embd=64, n_layer=2, n_head=2),
    "gpt2-small-random": dict(vocab_size=8000, n_positions=256, n_embd=384, n_layer=6, n_head=6),
}


def load_model(name: str, smollm_dir: str | None) -> torch.nn.Module:
    from contrastkit.generation._testing import tiny_gpt2

    if name == "smollm2-135m":
        from transformers import AutoModelForCausalLM

        if smollm_dir is None:
            raise SystemExit("--smollm-dir: needed for smollm2-135m")
        model = AutoModelForCausalLM.from_pretrained(smollm_dir, local_files_only=True).eval()  # fp32 weights
        model.generation_config.eos_token_id = None  # fixed-length runs on both sides, no EOS processor
        return model
    return tiny_gpt2(0, std=0.2, **MODELS[name])


def prompts(vocab: int, batch: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1234)
    ids = torch.randint(10, min(vocab, 5000), (batch, length), generator=g)
    mask = torch.ones_like(ids)
    for i in range(1, batch, 2):  # every other row left-padded by a quarter of the length
        mask[i, : length // 4] = 0
        ids[i, : length // 4] = 0
    return ids, mask


def run_one(impl: str, model: torch.nn.Module, ids: torch.Tensor, mask: torch.Tensor, new: int, k: int,
            alpha: float) -> torch.Tensor:
    if impl == "ours":
        from contrastkit.generation import contrastive_search

        return contrastive_search(model, ids, mask, top_k=k, penalty_alpha=alpha, max_new_tokens=new,
                                  eos_token_id=[], pad_token_id=0)
    # transformers 4.55.4 core implementation (EOS disabled in load_model for fixed-length runs)
    return model.generate(ids, attention_mask=mask, penalty_alpha=alpha, top_k=k, max_new_tokens=new,
                          do_sample=False, pad_token_id=0)


def bench(impl: str, args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(args.threads)
    import transformers

    results = []
    for name in args.models:
        model = load_model(name, args.smollm_dir)
        vocab = model.get_output_embeddings().weight.shape[0]
        for batch in args.batches:
            ids, mask = prompts(vocab, batch, args.prompt_len)
            new = args.new_tokens if name != "smollm2-135m" else args.new_tokens_large
            out = run_one(impl, model, ids, mask, new, args.top_k, args.alpha)  # warm-up
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                out = run_one(impl, model, ids, mask, new, args.top_k, args.alpha)
                times.append(time.perf_counter() - t0)
            med = statistics.median(times)
            results.append(dict(model=name, batch=batch, new_tokens=new, prompt_len=args.prompt_len,
                                seconds=med, times=times, tokens_per_s=batch * new / med,
                                ids=out[:, -new:].tolist()))
            print(f"[{impl}] {name} batch {batch}: {batch * new / med:.1f} tok/s", file=sys.stderr)
    return dict(impl=impl, transformers=transformers.__version__, torch=torch.__version__, results=results)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--impl", choices=["ours", "hf", "both"], default="both")
    ap.add_argument("--models", nargs="+", default=["gpt2-tiny", "gpt2-small-random", "smollm2-135m"])
    ap.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    ap.add_argument("--prompt-len", type=int, default=32)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--new-tokens-large", type=int, default=32)
    ap.add_argument("--top-k", type=int, default=4)
    ap.add_argument("--alpha", type=float, default=0.6)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--smollm-dir", default=os.environ.get("CK_SMOLLM2_DIR", str(ROOT / ".cache" / "smollm2")))
    ap.add_argument("--hf-python", default=str(ROOT / ".venv-hf4" / "bin" / "python"))
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if "smollm2-135m" in args.models and not Path(args.smollm_dir).exists():
        print(f"skipping smollm2-135m: {args.smollm_dir} not found", file=sys.stderr)
        args.models = [m for m in args.models if m != "smollm2-135m"]
    if args.impl in ("ours", "hf"):
        print(json.dumps(bench(args.impl, args)))
        return
    hf_cmd = [args.hf_python, __file__, "--impl", "hf", "--models", *args.models, "--batches",
              *map(str, args.batches), "--prompt-len", str(args.prompt_len), "--new-tokens", str(args.new_tokens),
              "--new-tokens-large", str(args.new_tokens_large), "--top-k", str(args.top_k), "--alpha",
              str(args.alpha), "--threads", str(args.threads), "--repeats", str(args.repeats), "--smollm-dir",
              args.smollm_dir]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    hf_runs, our_runs = [], []
    for _ in range(args.rounds):
        hf_runs.append(json.loads(subprocess.run(hf_cmd, capture_output=True, text=True, env=env,
                                                 check=True).stdout))
        our_runs.append(bench("ours", args))
    hf, ours = hf_runs[0], our_runs[0]
    rows = []
    for i, (o, h) in enumerate(zip(ours["results"], hf["results"], strict=True)):
        o_times = [t for run in our_runs for t in run["results"][i]["times"]]
        h_times = [t for run in hf_runs for t in run["results"][i]["times"]]
        tokens = o["batch"] * o["new_tokens"]
        rows.append(dict(model=o["model"], batch=o["batch"], new_tokens=o["new_tokens"],
                         prompt_len=o["prompt_len"], ours_tok_s=tokens / min(o_times),
                         hf455_tok_s=tokens / min(h_times), speedup=min(h_times) / min(o_times),
                         speedup_median=statistics.median(h_times) / statistics.median(o_times),
                         same_ids=o["ids"] == h["ids"], ours_times=o_times, hf455_times=h_times))
    report = dict(settings=dict(top_k=args.top_k, alpha=args.alpha, threads=args.threads, repeats=args.repeats,
                                machine=platform.processor() or platform.machine(), cpus=os.cpu_count(),
                                load_avg=os.getloadavg()),
                  ours=dict(transformers=ours["transformers"], torch=ours["torch"]),
                  reference=dict(transformers=hf["transformers"], torch=hf["torch"]), rows=rows)
    lines = ["| model | batch | new tokens | contrastkit tok/s | transformers 4.55.4 tok/s | speed-up (best) "
             "| speed-up (median) | same ids |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['batch']} | {r['new_tokens']} | {r['ours_tok_s']:.1f} | "
                     f"{r['hf455_tok_s']:.1f} | {r['speedup']:.2f}x | {r['speedup_median']:.2f}x | "
                     f"{r['same_ids']} |")
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
