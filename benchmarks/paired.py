"""Paired speed ratios: every implementation of one case interleaved in one process.

::

    python -m benchmarks.paired --json benchmarks/results/losses_paired.json \\
        --loss ntxent,supcon,clip --d 128 --batch 4096,8192 [--rounds 15] [--merge]

Why: on a shared VM one code path's time moves by up to ±20 % from one minute to the next (other
tenants' memory traffic), so a ratio of two times taken minutes apart in separate processes
(:mod:`benchmarks.losses`) carries that drift. Here one child process per ``(loss, d, B)`` builds
every implementation's step on the same seeded inputs, runs each once as a warm-up, then runs
``--rounds`` rounds; a round runs every implementation once, in an order rotated by one each round
(so no implementation always follows the same neighbour). A round's ratio is an implementation's
CPU time over the reference's in **that round** (seconds apart, the same load); the record keeps
every time and the median and quartiles of the per-round ratios. References: the two-view losses'
own symmetric floor (``floor_sym``), CLIP's three-GEMM ``floor``; every other floor is reported
against the same reference.

Peak memory is not measured here (all steps live in one process): it comes from the per-case
processes of :mod:`benchmarks.losses`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_IMPLS = ("floor", "floor_sym", "floor_recompute", "contrastkit_dense", "contrastkit_tiled",
                 "contrastkit_recompute")
TAU = 0.1


def reference(loss: str) -> str:
    """The floor a loss's ratios are taken against."""
    from benchmarks.impls import TWO_VIEW

    return "floor_sym" if loss in TWO_VIEW else "floor"


def rotation(names: list[str], round_index: int) -> list[str]:
    """Round ``r``'s order: ``names`` rotated left by ``r`` (each name leads once per ``len`` rounds)."""
    k = round_index % len(names)
    return names[k:] + names[:k]


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """``(q1, median, q3)`` of ``values`` (inclusive method; one value gives it three times)."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def summarise(times: dict[str, list[float]], ref: str) -> dict[str, dict[str, float]]:
    """Per implementation: the median and quartiles of its per-round ratio to ``ref``, and its
    minimum time. ``times[name][r]`` is the CPU time of ``name`` in round ``r``.

    Raises:
        ValueError: ``ref`` is missing or the implementations ran different numbers of rounds.
    """
    if ref not in times:
        raise ValueError(f"ref: {ref!r} was not measured (measured: {sorted(times)})")
    rounds = {len(v) for v in times.values()}
    if len(rounds) != 1:
        raise ValueError(f"times: every implementation needs the same number of rounds, got {sorted(rounds)}")
    out = {}
    for name, values in times.items():
        ratios = [t / r for t, r in zip(values, times[ref], strict=True)]
        q1, med, q3 = quartiles(ratios)
        out[name] = {"ratio_median": med, "ratio_q1": q1, "ratio_q3": q3, "time_min_s": min(values),
                     "time_median_s": statistics.median(values)}
    return out


def measure_case(loss: str, dim: int, batch: int, impls: list[str], rounds: int, tile_size: int) -> dict[str, Any]:
    """Build every step of one case, warm each up, run ``rounds`` rotated rounds; return the record."""
    import torch

    from benchmarks.impls import IMPLS, Unsupported

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(batch * 7919 + dim)  # the same inputs as benchmarks.worker
    z1 = torch.randn(batch, dim, generator=gen).requires_grad_()
    z2 = torch.randn(batch, dim, generator=gen).requires_grad_()
    steps, skipped, values = {}, {}, {}
    for name in impls:
        if loss not in IMPLS[name].losses:
            skipped[name] = f"{name} does not implement {loss}"
            continue
        try:
            steps[name] = IMPLS[name].make(loss, z1, z2, TAU, tile_size)
        except Unsupported as exc:
            skipped[name] = str(exc)
    for name, step in steps.items():  # warm-up
        values[name] = step()
    losses = [v for v in values.values() if v is not None]  # the floors return None
    if losses and max(losses) - min(losses) > 1e-4 * max(abs(v) for v in losses):
        raise RuntimeError(f"values: the implementations disagree on {loss} d={dim} B={batch}: {values}")
    times: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    for r in range(rounds):
        for name in rotation(names, r):
            t0 = time.process_time()
            steps[name]()
            times[name].append(time.process_time() - t0)
    ref = reference(loss)
    return {"loss": loss, "dim": dim, "batch": batch, "rounds": rounds, "tile_size": tile_size,
            "reference": ref, "values": values, "skipped": skipped, "times_s": times,
            "summary": summarise(times, ref), "torch": torch.__version__}


def _child(spec: str) -> int:
    import torch

    args = json.loads(spec)
    torch.set_num_threads(1)
    print(json.dumps(measure_case(**args)), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.paired")
    parser.add_argument("--json", help="results file (required unless --child)")
    parser.add_argument("--loss", default="ntxent,supcon,clip")
    parser.add_argument("--d", default="128")
    parser.add_argument("--batch", default="4096")
    parser.add_argument("--impl", default=",".join(DEFAULT_IMPLS))
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--tile-size", type=int, default=512)
    parser.add_argument("--merge", action="store_true", help="keep the cases already in --json")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per case")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child)
    if not args.json:
        parser.error("--json: expected the path of the results file")
    from benchmarks.impls import IMPLS
    from benchmarks.losses import machine_info

    impls = [x for x in args.impl.split(",") if x]
    unknown = [x for x in impls if x not in IMPLS]
    if unknown:
        parser.error(f"--impl: unknown {unknown}; expected names from {sorted(IMPLS)}")
    if args.rounds < 3:
        parser.error(f"--rounds: expected at least 3 (quartiles need them), got {args.rounds}")
    path = Path(args.json)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    data: dict[str, Any] = {"meta": {}, "results": []}
    if args.merge and path.exists():
        data = json.loads(path.read_text())
    runs = data["meta"].get("runs", [])
    runs.append(machine_info())
    data["meta"] = {"runs": runs, "method": "per case one process; rounds of every implementation, "
                    "rotated order; ratio = CPU time / the reference's in the same round",
                    "threads": 1}
    for loss in args.loss.split(","):
        for dim in (int(x) for x in args.d.split(",")):
            for batch in (int(x) for x in args.batch.split(",")):
                spec = dict(loss=loss, dim=dim, batch=batch, impls=impls, rounds=args.rounds,
                            tile_size=args.tile_size)
                proc = subprocess.run([sys.executable, "-m", "benchmarks.paired", "--child", json.dumps(spec)],
                                      cwd=ROOT, env=env, capture_output=True, text=True, timeout=args.timeout)
                if proc.returncode != 0:
                    print(f"{loss} d={dim} B={batch}: child failed\n{proc.stderr[-2000:]}", file=sys.stderr)
                    continue
                record = json.loads(proc.stdout.strip().splitlines()[-1])
                data["results"] = [r for r in data["results"]
                                   if (r["loss"], r["dim"], r["batch"]) != (loss, dim, batch)] + [record]
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(data, indent=1))
                tmp.replace(path)
                summary = "  ".join(f"{n} {s['ratio_median']:.2f}×" for n, s in record["summary"].items())
                print(f"{loss} d={dim} B={batch}: {summary}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
