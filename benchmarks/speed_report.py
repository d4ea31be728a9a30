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

``--paired benchmarks/results/losses_paired.json`` (:mod:`benchmarks.paired`) adds the interleaved
ratios (median and quartiles of per-round ratios, every implementation of a case in one process)
and judges the speed targets on them where a case has them: they are robust to the minute-scale
drift that moves separate processes' times; the memory targets stay on the per-process peaks.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.impls import TWO_VIEW
from benchmarks.paired import quartiles, reference

TITLES = {"ntxent": "two-view NT-Xent", "supcon": "two-view SupCon (10 classes)", "clip": "CLIP symmetric"}
IMPLS = ("contrastkit_dense", "contrastkit_tiled", "contrastkit_recompute")
LABELS = {"contrastkit_dense": "dense", "contrastkit_tiled": "tiled + cache",
          "contrastkit_recompute": "tiled, recompute"}
FLOOR_LABELS = {"floor": "3-GEMM floor", "floor_recompute": "recompute bound"}


PairedIndex = dict[tuple[str, int, int], dict[str, Any]]


def _paired_index(paired: dict[str, Any] | None) -> PairedIndex:
    return {} if paired is None else {(r["loss"], r["dim"], r["batch"]): r for r in paired["results"]}


def paired_ratio(record: dict[str, Any], impl: str, base: str) -> tuple[float, float, float] | None:
    """``(q1, median, q3)`` of ``impl``'s per-round time over ``base``'s in one paired record, or
    ``None`` where either was not measured."""
    times = record.get("times_s", {})
    if impl not in times or base not in times:
        return None
    return quartiles([t / b for t, b in zip(times[impl], times[base], strict=True)])


def _fmt(q: tuple[float, float, float]) -> str:
    return f"{q[1]:.2f}× [{q[0]:.2f}–{q[2]:.2f}]"


def paired_tables(paired: dict[str, Any]) -> str:
    """Per loss: every case's interleaved ratios to the floor that applies."""
    pidx = _paired_index(paired)
    out = []
    for loss in ("ntxent", "supcon", "clip"):
        keys = sorted((d, b) for (lo, d, b) in pidx if lo == loss)
        if not keys:
            continue
        cols = (["floor"] if loss in TWO_VIEW else ["floor_recompute"]) + list(IMPLS)
        ref = "own 2-GEMM floor" if loss in TWO_VIEW else "3-GEMM floor"
        out.append(f"**{TITLES[loss]}, paired** (median [quartiles] of per-round ratios × the {ref})\n")
        head = ["d", "B", "rounds"] + [FLOOR_LABELS.get(c) or LABELS[c] for c in cols]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for dim, batch in keys:
            rec = pidx[(loss, dim, batch)]
            row = [str(dim), f"{batch:,}", str(rec["rounds"])]
            for c in cols:
                q = paired_ratio(rec, c, rec["reference"])
                row.append(_fmt(q) if q else "")
            out.append("| " + " | ".join(row) + " |")
        out.append("")
    return "\n".join(out)


def _index(data: dict[str, Any]) -> dict[tuple[str, str, int, int], dict[str, Any]]:
    return {(r["impl"], r["loss"], r["dim"], r["batch"]): r for r in data["results"]
            if r.get("status") == "ok" and r.get("device", "cpu") == "cpu"}


def own_floor(idx: dict, loss: str, dim: int, batch: int) -> dict[str, Any] | None:
    """The floor a loss is compared with: symmetric for two views, three-GEMM for CLIP."""
    return idx.get((reference(loss), loss, dim, batch))


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


def targets(data: dict[str, Any], budget_mb: float,
            paired: dict[str, Any] | None = None) -> list[tuple[str, str, str, bool]]:
    """``(target, case, measured, met)`` for every case of the run that a target covers. Speed
    targets use the paired median where ``paired`` has the case (the measured text then gives its
    quartiles and says "paired"), else the ratio of the per-process times."""
    idx = _index(data)
    pidx = _paired_index(paired)
    rows = []

    def ratio_of(impl: str, base: str, loss: str, dim: int, batch: int) -> tuple[float, str] | None:
        rec = pidx.get((loss, dim, batch))
        q = paired_ratio(rec, impl, base) if rec else None
        if q is not None:
            return q[1], f"{_fmt(q)} paired"
        a, b = idx.get((impl, loss, dim, batch)), idx.get((base, loss, dim, batch))
        return (a["time_s"] / b["time_s"], f"{a['time_s'] / b['time_s']:.2f}×") if a and b else None

    for (impl, loss, dim, batch), rec in sorted(idx.items()):
        ref_name = reference(loss)
        if own_floor(idx, loss, dim, batch) is None or batch < 4096:
            continue
        case = f"{loss} d={dim} B={batch:,}"
        own = ratio_of(impl, ref_name, loss, dim, batch)
        if impl == "contrastkit_tiled" and own and cache_fits(loss, batch, dim, budget_mb, _tile(data)):
            rows.append(("cached tiled ≤ 1.15× its floor", case, own[1], own[0] <= 1.15))
        if impl == "contrastkit_recompute" and own:
            limit = 1.3 if loss in TWO_VIEW else 1.4
            bound = ratio_of("floor_recompute", ref_name, loss, dim, batch) if loss not in TWO_VIEW else None
            note = f" (bound {bound[0]:.2f}×)" if bound else ""
            rows.append((f"recompute tiled ≤ {limit}× its floor", case, f"{own[1]}{note}", own[0] <= limit))
        if impl == "contrastkit_dense":
            r3 = ratio_of(impl, "floor", loss, dim, batch)
            if r3 is not None:
                limit = 1.3 if dim >= 512 else 2.0
                rows.append((f"dense ≤ {limit}× the 3-GEMM floor", case, r3[1], r3[0] <= limit))
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


def markdown(data: dict[str, Any], budget_mb: float, paired: dict[str, Any] | None = None) -> str:
    meta = data["meta"]
    runs = meta.get("runs", [meta])
    when = ", ".join(f"{r.get('date')} (load {r.get('loadavg', ['?'])[0]:.1f})" for r in runs)
    last_load = meta.get("loadavg_last_save", [float("nan")])[0]
    modified = " (modified)" if meta.get("src_modified") else ""
    lines = [f"Runs: {when}; last save {meta.get('date_last_save')} (load {last_load:.1f}); "
             f"torch {meta.get('torch')}, {meta.get('threads')} thread, commit {meta.get('commit')}{modified}, "
             f"min of {meta.get('min_runs')} runs after a warm-up{_passes(data)}.\n",
             tables(data, budget_mb)]
    if paired is not None:
        pruns = paired["meta"].get("runs", [])
        pwhen = ", ".join(f"{r.get('date')} (load {r.get('loadavg', ['?'])[0]:.1f}, commit {r.get('commit')})"
                          for r in pruns)
        lines += [f"Paired runs (`benchmarks/paired.py`): {pwhen}.\n", paired_tables(paired)]
    lines += ["| target | case | measured | met |", "|---|---|---|---|"]
    lines += [f"| {t} | {c} | {m} | {'yes' if ok else '**no**'} |"
              for t, c, m, ok in targets(data, budget_mb, paired)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed_report")
    parser.add_argument("json")
    parser.add_argument("--budget-mb", type=float, default=256.0, help="tile cache budget of the run")
    parser.add_argument("--paired", help="interleaved ratios (benchmarks/paired.py) to judge the speed targets on")
    args = parser.parse_args(argv)
    paired = json.loads(Path(args.paired).read_text()) if args.paired else None
    print(markdown(json.loads(Path(args.json).read_text()), args.budget_mb, paired))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
