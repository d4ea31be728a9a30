"""Sequential-recommendation speed on MovieLens-100k: SASRec / CL4SRec training throughput and the time of a
full-ranking evaluation (all users x all items).

Run from the repository root::

    python -m benchmarks.seqrec --json benchmarks/results/seqrec.json

One thread (``torch.set_num_threads(1)``). Times are **process CPU time** (``time.process_time``), so other
jobs on a shared machine slow the wall clock but not the figures; wall time is stored too. Throughput counts
training *windows* (sequences of up to ``max_len`` items, every position a next-item target) per CPU-second.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch


def _time(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm-up
    cpu, wall = [], []
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return min(cpu), min(wall)


def run(max_lens=(50, 20), batch_size: int = 256, steps: int = 5, repeats: int = 3) -> list[dict]:
    from contrastkit.evaluate import ranking_metrics
    from contrastkit.methods.sasrec import SASRecModule
    from contrastkit.papers.cl4srec.module import CL4SRec
    from contrastkit.seqrec import SASRec, load_seqrec

    torch.set_num_threads(1)
    records = []
    for max_len in max_lens:
        data = load_seqrec(max_len=max_len)
        inputs, targets, users = data.train_windows("all")
        g = torch.Generator().manual_seed(0)
        batches = [torch.randint(len(inputs), (batch_size,), generator=g) for _ in range(steps)]
        for name, cls in (("SASRec", SASRecModule), ("SASRec + CL4SRec", CL4SRec)):
            torch.manual_seed(0)
            module = cls(SASRec(data.n_items, max_len, validate=False))
            opt = torch.optim.Adam(module.parameters(), lr=1e-3)

            def train(module=module, opt=opt, batches=batches, data=(inputs, targets, users)):
                for idx in batches:
                    loss = module.losses(tuple(t[idx] for t in data))["loss"]
                    opt.zero_grad()
                    loss.backward()
                    opt.step()

            cpu, wall = _time(train, repeats)
            records.append({"case": "train", "method": name, "max_len": max_len, "batch_size": batch_size,
                            "sequences_per_cpu_second": steps * batch_size / cpu,
                            "sequences_per_wall_second": steps * batch_size / wall,
                            "targets_per_cpu_second": float((targets[torch.cat(batches)] > 0).sum()) / cpu})
        encoder = module.encoder
        eval_inputs, eval_targets = data.eval_inputs("test")

        def evaluate(encoder=encoder, eval_inputs=eval_inputs, eval_targets=eval_targets):
            ranking_metrics(encoder.full_scores(eval_inputs), eval_targets - 1)

        scores = encoder.full_scores(eval_inputs)
        cpu, wall = _time(evaluate, repeats)
        rcpu, rwall = _time(lambda scores=scores, t=eval_targets: ranking_metrics(scores, t - 1), repeats)
        records.append({"case": "full-ranking evaluation", "max_len": max_len, "users": data.n_users,
                        "items": data.n_items, "cpu_seconds": cpu, "wall_seconds": wall,
                        "metrics_only_cpu_seconds": rcpu})
    return records


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=Path("bench-seqrec.json"))
    parser.add_argument("--steps", type=int, default=5, help="training steps per timed repeat")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (the minimum is kept)")
    args = parser.parse_args(argv)
    records = run(steps=args.steps, repeats=args.repeats)
    meta = {"torch": torch.__version__, "machine": platform.processor() or platform.machine(),
            "load_average": os.getloadavg(), "threads": 1}
    args.json.write_text(json.dumps({"meta": meta, "records": records}, indent=1))
    for r in records:
        print(r, flush=True)


if __name__ == "__main__":
    main()
