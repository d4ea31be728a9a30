"""Render the tile-cache / dense-path run (``benchmarks/results/losses_speed.json``) as markdown.

::

    python -m benchmarks.speed_report benchmarks/results/losses_speed.json [--budget-mb 256]

One table per loss: for every (d, B) the GEMM floor, the two-view losses' own (symmetric, two-GEMM)
floor, and contrastkit dense, tiled with the default tile cache and tiled without it (time, ratio
to the floor that applies, peak memory), then the targets with measured values and whether the
JSON meets them. The floor that applies: the three-GEMM floor for CLIP, the measured symmetric
floor (``floor_sym``) for NT-Xent and SupCon. CLIP also shows its recompute bound
(``floor_recompute``: the four products and two ``exp2`` passes per tile that a kernel without the
tile cache cannot avoid), and the recompute target's row names it: where the bound itself is above
the target, no recompute kernel built from these PyTorch operations can meet it on that machine.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.impls import TWO_VIEW

TITLES = {"ntxent": "two-view NT-Xent", "supcon": "two-view SupCon (10 classes)", "clip": "CLIP symmetric"}
IMPLS = ("contrastkit_dense", "contrastkit_tiled", "contrastkit_recompute")
LABELS = {"contrastkit_dense": "dense", "contrastkit_tiled": "tiled + cache",
          "contrastkit_recompute": "tiled, recompute"}


def _index(data: dict[str, Any]) -> dict[tuple[str, str, int, int], dict[str, Any]]:
    return {(r["impl"], r["loss"], r["dim"], r["batch"]): r for r in data["results"]
            if r.get("status") == "ok" and r.get("device", "cpu") == "cpu"}


def own_floor(idx: dict, loss: str, dim: int, batch: int) -> dict[str, Any] | None:
    """The floor a loss is compared with: symmetric for two views, three-GEMM for CLIP."""
    return idx.get(("floor_sym" if loss in TWO_VIEW else "floor", loss, dim, batch))


def cache_fits(loss: str, batch: int, dim: int, budget_mb: float, tile: int) -> bool:
    """Whether every computed tile fits the cache budget (float32). The budget also counts what is
    live beside the kept tiles (``TiledLogSumExp``): two tile-sized scratch buffers and backward's
    ``(rows, d)`` gradient accumulators (one for two views, two for CLIP)."""
    rows = 2 * batch if loss in TWO_VIEW else batch
    blocks = -(-rows // tile)
    tiles = blocks * (blocks + 1) // 2 if loss in TWO_VIEW else blocks * blocks
    beside = 2 * tile * tile + (1 if loss in TWO_VIEW else 2) * rows * dim
    return (tiles * tile * tile + beside) * 4 <= budget_mb * 2**20


def _tile(data: dict[str, Any]) -> int:
    return int(data.get("meta", {}).get("tile_size") or 512)


def tables(data: dict[str, Any], budget_mb: float) -> str:
    idx = _index(data)
    out = []
    for loss in ("ntxent", "supcon", "clip"):
        keys = sorted({(d, b) for (_, lo, d, b) in idx if lo == loss})
        if not keys:
            continue
        floor_name = "own 2-GEMM floor" if loss in TWO_VIEW else "3-GEMM floor"
        out.append(f"**{TITLES[loss]}** (ratios × the {floor_name})\n")
        head = ["d", "B", "3-GEMM floor"] + (["own 2-GEMM floor"] if loss in TWO_VIEW else ["recompute bound"])
        head += [LABELS[i] for i in IMPLS] + ["cache fits"]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for dim, batch in keys:
            floor = idx.get(("floor", loss, dim, batch))
            ref = own_floor(idx, loss, dim, batch)
            row = [str(dim), f"{batch:,}", f"{floor['time_s']:.3f} s" if floor else ""]
            if loss in TWO_VIEW:
                row.append(f"{ref['time_s']:.3f} s" if ref else "")
            else:
                bound = idx.get(("floor_recompute", loss, dim, batch))
                row.append(f"{bound['time_s']:.3f} s ({bound['time_s'] / ref['time_s']:.2f}×)" if bound and ref else "")
            for impl in IMPLS:
                rec = idx.get((impl, loss, dim, batch))
                if rec is None:
                    row.append("")
                    continue
                ratio = f" ({rec['time_s'] / ref['time_s']:.2f}×)" if ref else ""
                row.append(f"{rec['time_s']:.3f} s{ratio} · {rec['peak_mb']:.0f} MB")
            row.append("yes" if cache_fits(loss, batch, dim, budget_mb, _tile(data)) else "no (partial)")
            out.append("| " + " | ".join(row) + " |")
        out.append("")
    return "\n".join(out)


def targets(data: dict[str, Any], budget_mb: float) -> list[tuple[str, str, str, bool]]:
    """``(target, case, measured, met)`` for every case of the run that a target covers."""
    idx = _index(data)
    rows = []
    for (impl, loss, dim, batch), rec in sorted(idx.items()):
        ref = own_floor(idx, loss, dim, batch)
        if ref is None or batch < 4096:
            continue
        ratio = rec["time_s"] / ref["time_s"]
        case = f"{loss} d={dim} B={batch:,}"
        if impl == "contrastkit_tiled" and cache_fits(loss, batch, dim, budget_mb, _tile(data)):
            rows.append(("cached tiled ≤ 1.15× its floor", case, f"{ratio:.2f}×", ratio <= 1.15))
        if impl == "contrastkit_recompute":
            limit = 1.3 if loss in TWO_VIEW else 1.4
            bound = idx.get(("floor_recompute", loss, dim, batch))
            note = f" (bound {bound['time_s'] / ref['time_s']:.2f}×)" if bound else ""
            rows.append((f"recompute tiled ≤ {limit}× its floor", case, f"{ratio:.2f}×{note}", ratio <= limit))
        if impl == "contrastkit_dense":
            floor = idx.get(("floor", loss, dim, batch))
            if floor is not None:
                r3 = rec["time_s"] / floor["time_s"]
                limit = 1.3 if dim >= 512 else 2.0
                rows.append((f"dense ≤ {limit}× the 3-GEMM floor", case, f"{r3:.2f}×", r3 <= limit))
        if impl == "contrastkit_tiled":
            base = idx.get(("contrastkit_recompute", loss, dim, batch))
            if base is not None:
                extra = rec["peak_mb"] - base["peak_mb"]
                rows.append((f"cache memory ≤ budget ({budget_mb:.0f} MB)", case,
                             f"+{extra:.0f} MB over recompute", extra <= budget_mb))
    return rows


def _passes(data: dict[str, Any]) -> str:
    counts = {int(r.get("passes", 1)) for r in data["results"] if r.get("status") == "ok"}
    if counts == {1}:
        return ""
    return (f"; every case is the fastest of its {'/'.join(map(str, sorted(counts)))} passes "
            "(the same commands run again, `--merge --keep-faster`)")


def markdown(data: dict[str, Any], budget_mb: float) -> str:
    meta = data["meta"]
    runs = meta.get("runs", [meta])
    when = ", ".join(f"{r.get('date')} (load {r.get('loadavg', ['?'])[0]:.1f})" for r in runs)
    last_load = meta.get("loadavg_last_save", [float("nan")])[0]
    modified = " (modified)" if meta.get("src_modified") else ""
    lines = [f"Runs: {when}; last save {meta.get('date_last_save')} (load {last_load:.1f}); "
             f"torch {meta.get('torch')}, {meta.get('threads')} thread, commit {meta.get('commit')}{modified}, "
             f"min of {meta.get('min_runs')} runs after a warm-up{_passes(data)}.\n",
             tables(data, budget_mb), "| target | case | measured | met |", "|---|---|---|---|"]
    lines += [f"| {t} | {c} | {m} | {'yes' if ok else '**no**'} |" for t, c, m, ok in targets(data, budget_mb)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed_report")
    parser.add_argument("json")
    parser.add_argument("--budget-mb", type=float, default=256.0, help="tile cache budget of the run")
    args = parser.parse_args(argv)
    print(markdown(json.loads(Path(args.json).read_text()), args.budget_mb))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
