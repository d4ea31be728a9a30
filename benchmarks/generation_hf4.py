"""Contrastive search: contrastkit vs transformers 4.55.4's own implementation, same environment.

Run it with the transformers 4.55.4 environment (``make bench-hf4``; see ``benchmarks/README.md``)::

    PYTHONPATH=src .venv-hf4/bin/python benchmarks/generation_hf4.py \\
        --json benchmarks/results/generation_hf4.json [--quick] [--device cuda]

One process, one transformers version (4.55.4, the last release with contrastive search in its core)
and one torch for both sides, so the speed-up is the implementation's alone (not a difference between
transformers releases' per-call overhead). For each model and batch, after one warm-up of each side,
``--rounds`` rounds alternate transformers ``generate(penalty_alpha, top_k)`` and contrastkit's
``contrastive_search`` (its default ``candidate_scoring``); the fastest run per side is kept (the
median is stored too). Both must return the same ids (checked, stored). The **limit** is measured
inside contrastkit's runs: the time spent in the model body's forward (the prompt, then one forward
of the ``k`` candidates against the shared cache per step) and in the LM head (the prompt's last
position and the chosen rows), the network arithmetic any exact implementation does.

Timing: on CPU process CPU time (``time.process_time``: user + system of this process), 1 thread; with
``--device cuda`` wall time between ``torch.cuda.synchronize()`` calls (the limit meter synchronises
around each metered call, so it adds the synchronisation to both the run and the limit).
Models: ``gpt2-tiny`` (GPT-2, V 1000, d 64, 2 layers), ``gpt2-small-random`` (GPT-2, V 8000, d 384,
6 layers) and ``smollm2-135m-shape`` (Llama with SmolLM2-135M's shape, random weights).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generation_limit import Meter, build  # noqa: E402


def clock(device: str) -> Callable[[], float]:
    if device == "cuda":
        def wall() -> float:
            torch.cuda.synchronize()
            return time.perf_counter()

        return wall
    return time.process_time


def model_for(name: str, device: str) -> torch.nn.Module:
    from contrastkit.generation._testing import tiny_gpt2

    if name == "gpt2-tiny":
        model = tiny_gpt2(0, std=0.2, vocab_size=1000, n_positions=256, n_embd=64, n_layer=2, n_head=2)
    else:
        model = build(name)
    model.generation_config.eos_token_id = None  # fixed-length runs on both sides
    return model.to(device).eval()


def prompts(vocab: int, batch: int, length: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1234)
    ids = torch.randint(10, min(vocab, 5000), (batch, length), generator=g)
    mask = torch.ones_like(ids)
    mask[1::2, : length // 4] = 0  # every other row left-padded by a quarter of the length
    ids[1::2, : length // 4] = 0
    return ids.to(device), mask.to(device)


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


TARGET = 1.05  # contrastkit's time over the limit at batch 8 (6-layer GPT-2, SmolLM2-135M shape)


def render(report: dict[str, Any]) -> str:
    """The markdown table of a report (``--render FILE`` prints it for the docs)."""
    lines = ["| model | batch | new tokens | contrastkit | transformers 4.55.4 | limit | contrastkit × limit "
             "| transformers × limit | speed-up (best) | speed-up (median) | same ids | ≤ 1.05× limit |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        target = "-"
        if r["batch"] == 8 and r["model"] in ("gpt2-small-random", "smollm2-135m-shape"):
            target = "met" if r["contrastkit_x_limit"] <= TARGET else "missed"
        hf = r.get("transformers_s")
        lines.append(
            f"| {r['model']} | {r['batch']} | {r['new_tokens']} | {r['contrastkit_s']:.3f} s | "
            + (f"{hf:.3f} s" if hf is not None else "-") + f" | {r['limit_s']:.3f} s | "
            f"{r['contrastkit_x_limit']:.3f}× | "
            + (f"{r['transformers_x_limit']:.2f}× | **{r['speedup']:.2f}×** | {r['speedup_median']:.2f}× | "
               f"{r['same_ids']} |" if hf is not None else "- | - | - | - |")
            + f" {target} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=["gpt2-tiny", "gpt2-small-random", "smollm2-135m-shape"])
    ap.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    ap.add_argument("--prompt-len", type=int, default=32)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--top-k", type=int, default=4)
    ap.add_argument("--alpha", type=float, default=0.6)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--quick", action="store_true", help="gpt2-tiny, batch 2, 8 tokens, 1 round (seconds)")
    ap.add_argument("--allow-other-transformers", action="store_true",
                    help="run under a transformers without contrastive search in core (contrastkit side only)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--render", default=None, metavar="FILE", help="print FILE's markdown table and exit")
    args = ap.parse_args(argv)
    if args.render:
        report = json.loads(Path(args.render).read_text())
        print(render(report))
        return report
    if args.quick:
        args.models, args.batches, args.new_tokens, args.rounds = ["gpt2-tiny"], [2], 8, 1
    import transformers

    major, minor = (int(v) for v in transformers.__version__.split(".")[:2])
    has_reference = (major, minor) < (4, 56)
    if not has_reference and not args.allow_other_transformers:
        raise SystemExit(f"transformers {transformers.__version__}: run this with transformers 4.55.4 "
                         "(make bench-hf4; see benchmarks/README.md)")
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch.cuda.is_available() is False")
    torch.set_num_threads(1)
    from contrastkit.generation import contrastive_search

    now = clock(args.device)
    load_start = list(os.getloadavg())
    rows = []
    for name in args.models:
        model = model_for(name, args.device)
        meter = Meter(now)
        meter.wrap(model.base_model)
        meter.wrap(model.get_output_embeddings())
        vocab = model.get_output_embeddings().weight.shape[0]
        for batch in args.batches:
            ids, mask = prompts(vocab, batch, args.prompt_len, args.device)
            n = args.new_tokens

            def ours(model: torch.nn.Module = model, ids: torch.Tensor = ids, mask: torch.Tensor = mask,
                     n: int = n) -> torch.Tensor:
                return contrastive_search(model, ids, mask, top_k=args.top_k, penalty_alpha=args.alpha,
                                          max_new_tokens=n, eos_token_id=[], pad_token_id=0)

            def reference(model: torch.nn.Module = model, ids: torch.Tensor = ids, mask: torch.Tensor = mask,
                          n: int = n) -> torch.Tensor:
                return model.generate(ids, attention_mask=mask, penalty_alpha=args.alpha, top_k=args.top_k,
                                      max_new_tokens=n, do_sample=False, pad_token_id=0)

            impls = {"contrastkit": ours} | ({"transformers": reference} if has_reference else {})
            times: dict[str, list[float]] = {k: [] for k in impls}
            limits: list[float] = []
            outs: dict[str, list[list[int]]] = {}
            for r in range(args.rounds + 1):  # round 0: warm-up
                for impl, fn in impls.items():
                    meter.seconds = 0.0
                    t0 = now()
                    with torch.no_grad():
                        out = fn()
                    took = now() - t0
                    outs[impl] = out[:, -n:].tolist()
                    if r == 0:
                        continue
                    times[impl].append(took)
                    if impl == "contrastkit":
                        limits.append(meter.seconds)
            ck, limit = min(times["contrastkit"]), min(limits)
            rec: dict[str, Any] = dict(model=name, batch=batch, prompt_len=args.prompt_len, new_tokens=n,
                                       top_k=args.top_k, contrastkit_s=ck, limit_s=limit,
                                       contrastkit_x_limit=ck / limit, contrastkit_times=times["contrastkit"],
                                       limit_times=limits)
            if has_reference:
                hf = min(times["transformers"])
                rec |= dict(transformers_s=hf, transformers_x_limit=hf / limit, speedup=hf / ck,
                            speedup_median=statistics.median(times["transformers"])
                            / statistics.median(times["contrastkit"]),
                            transformers_times=times["transformers"],
                            same_ids=outs["contrastkit"] == outs["transformers"])
            rec["loadavg"] = list(os.getloadavg())
            rows.append(rec)
            msg = f"{name} B={batch}: contrastkit {ck:.3f}s ({ck / limit:.3f}x limit {limit:.3f}s)"
            if has_reference:
                msg += (f", transformers {rec['transformers_s']:.3f}s ({rec['transformers_x_limit']:.2f}x), "
                        f"speed-up {rec['speedup']:.2f}x, same ids {rec['same_ids']}")
            print(msg, file=sys.stderr, flush=True)
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip() if Path(
        "/usr/bin/uptime").exists() else ""
    report = dict(meta=dict(date=time.strftime("%Y-%m-%d %H:%M:%S %Z"), commit=git_commit(),
                            transformers=transformers.__version__, torch=torch.__version__, device=args.device,
                            threads=1, cpus=os.cpu_count(),
                            timing=("process CPU time" if args.device == "cpu" else "wall time, CUDA-synchronised")
                            + ", min over rounds after a warm-up, the two sides alternating",
                            rounds=args.rounds, alpha=args.alpha, loadavg_start=load_start,
                            loadavg_end=list(os.getloadavg()), uptime_end=uptime,
                            contrastkit_candidate_scoring="auto (shared on transformers >= 4.55)"),
                  results=rows)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    print(render(report))
    return report


if __name__ == "__main__":
    main()
