"""Render loss-benchmark results (JSON from :mod:`benchmarks.losses`) as markdown and a PNG plot.

::

    python -m benchmarks.report benchmarks/results/losses.json --markdown docs/benchmarks.md \\
        --plot docs/img/bench_losses.png
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from benchmarks.impls import IMPLS

LOSS_TITLES = {"ntxent": "two-view NT-Xent (SimCLR, 2B anchors)", "clip": "CLIP symmetric (B pairs)"}
ORDER = ["floor", "naive", "contrastkit_dense", "contrastkit_tiled", "pml", "st_mnrl", "st_cached_mnrl",
         "lightly", "open_clip"]


def _index(results: list[dict[str, Any]]) -> dict[tuple[str, str, int, int], dict[str, Any]]:
    # GPU cases (``--device cuda``) are not mixed into the CPU tables.
    return {(r["impl"], r["loss"], r["dim"], r["batch"]): r for r in results if r.get("device", "cpu") == "cpu"}


def _ok(rec: dict[str, Any] | None) -> bool:
    return rec is not None and rec.get("status") == "ok"


def _fmt_time(t: float) -> str:
    return f"{t:.3f}" if t < 10 else f"{t:.1f}"


def _fmt_mb(mb: float) -> str:
    return f"{mb:.0f}" if mb >= 10 else f"{mb:.1f}"


def _cell(rec: dict[str, Any] | None, floor: dict[str, Any] | None) -> str:
    if rec is None:
        return ""
    if not _ok(rec):
        reason = rec.get("reason", rec.get("status", ""))
        if "estimated peak" in reason:
            return "OOM-skip"
        if "killed" in reason:
            return "killed"
        if rec.get("status") == "skipped":
            return "n/a"
        return "error"
    text = f"{_fmt_time(rec['time_s'])} s"
    if rec["impl"] != "floor" and _ok(floor):
        text += f" ({rec['time_s'] / floor['time_s']:.2f}×)"
    return text + f" · {_fmt_mb(rec['peak_mb'])} MB"


def tables(data: dict[str, Any]) -> str:
    """One markdown table per (loss, d): rows B, columns implementations."""
    idx = _index(data["results"])
    out = []
    for loss in ("ntxent", "clip"):
        for dim in sorted({r["dim"] for r in data["results"]}):
            batches = sorted({r["batch"] for r in data["results"] if r["loss"] == loss and r["dim"] == dim})
            impls = [n for n in ORDER if any((n, loss, dim, b) in idx for b in batches)]
            if not batches or not impls:
                continue
            out.append(f"### {LOSS_TITLES[loss]}, d = {dim}\n")
            out.append("| B | " + " | ".join(IMPLS[n].label for n in impls) + " |")
            out.append("|---:|" + "---|" * len(impls))
            for b in batches:
                floor = idx.get(("floor", loss, dim, b))
                cells = [_cell(idx.get((n, loss, dim, b)), floor) for n in impls]
                out.append(f"| {b:,} | " + " | ".join(cells) + " |")
            out.append("")
    return "\n".join(out)


def targets(data: dict[str, Any]) -> str:
    """The issue targets, checked against the measured records."""
    idx = _index(data["results"])
    lines = ["| target | case | measured | met |", "|---|---|---|---|"]

    def row(target: str, case: str, measured: str, met: bool | None) -> None:
        lines.append(f"| {target} | {case} | {measured} | {'yes' if met else 'no' if met is not None else '–'} |")

    for (impl, loss, dim, b), rec in sorted(idx.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][3])):
        naive = idx.get(("naive", loss, dim, b))
        if impl == "contrastkit_dense" and _ok(rec) and _ok(naive):
            ratio = rec["time_s"] / naive["time_s"]
            row("dense ≤ 1.1 × naive", f"{loss} d={dim} B={b:,}", f"{ratio:.2f}×", ratio <= 1.1)
    for (impl, loss, dim, b), rec in sorted(idx.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][3])):
        floor = idx.get(("floor", loss, dim, b))
        if impl == "contrastkit_tiled" and b >= 4096 and _ok(rec) and _ok(floor):
            ratio = rec["time_s"] / floor["time_s"]
            limit = 2.0 if dim == 128 else 1.5
            row(f"tiled / floor ≤ {limit}", f"{loss} d={dim} B={b:,}", f"{ratio:.2f}×", ratio <= limit)
    for loss in ("ntxent", "clip"):
        tiled, naive = idx.get(("contrastkit_tiled", loss, 128, 16384)), idx.get(("naive", loss, 128, 16384))
        if _ok(tiled) and _ok(naive):
            share = tiled["peak_mb"] / naive["peak_mb"]
            row("tiled memory ≤ 5% of naive", f"{loss} d=128 B=16,384",
                f"{_fmt_mb(tiled['peak_mb'])} MB vs {_fmt_mb(naive['peak_mb'])} MB = {100 * share:.1f}%",
                share <= 0.05)
        elif _ok(tiled) and naive is not None:
            # The naive loss's peak is its B x B buffers: extrapolate from the largest B it ran at.
            ran = sorted(b for (n, lo, d, b), r in idx.items() if n == "naive" and lo == loss and d == 128
                         and _ok(r) and b < 16384)
            if ran:
                est = idx[("naive", loss, 128, ran[-1])]["peak_mb"] * (16384 / ran[-1]) ** 2
                share = tiled["peak_mb"] / est
                row("tiled memory ≤ 5% of naive", f"{loss} d=128 B=16,384",
                    f"{_fmt_mb(tiled['peak_mb'])} MB vs ~{est / 1024:.1f} GB (naive not run: over the memory "
                    f"guard; its B={ran[-1]:,} peak × {(16384 / ran[-1]) ** 2:.0f}) = {100 * share:.1f}%",
                    share <= 0.05)
            else:
                row("tiled memory ≤ 5% of naive", f"{loss} d=128 B=16,384",
                    f"{_fmt_mb(tiled['peak_mb'])} MB; naive not run", None)
        big = idx.get(("contrastkit_tiled", loss, 128, 65536))
        if big is not None:
            measured = (f"{_fmt_time(big['time_s'])} s, {_fmt_mb(big['peak_mb'])} MB" if _ok(big)
                        else big.get("reason", big.get("status")))
            row("B = 65,536 runs", f"{loss} d=128", measured, _ok(big))
    return "\n".join(lines)


def markdown(data: dict[str, Any], notes: str = "") -> str:
    """The whole docs/benchmarks.md page; ``notes`` (hand-written findings) go after the targets."""
    meta = data.get("meta", {})
    runs = meta.get("runs", [meta])
    dates = sorted({r.get("date", "?") for r in runs if isinstance(r, dict)} | {meta.get("date", "?")})
    loads = [r.get("loadavg", [math.nan])[0] for r in runs if isinstance(r, dict)]
    loads.append(meta.get("loadavg", [math.nan])[0])
    return f"""# Loss benchmarks

Generated by `python -m benchmarks.losses` / `python -m benchmarks.report` from
`benchmarks/results/losses.json`; see `benchmarks/README.md` for how to run and what is measured.

**Setup.** {meta.get('cpu', '?')}, {meta.get('cores', '?')} cores, torch {meta.get('torch', '?')}
(peers: torch {meta.get('peers_torch') or 'n/a'}), {meta.get('threads', 1)} thread per case,
temperature {meta.get('tau')}, tile / chunk size {meta.get('tile_size')}. Runs: {', '.join(dates)}.
**Time is process CPU time** (user + system, so page faults count), the minimum over repeats of
one forward + backward, because the machine was shared with other jobs (1-min load average at the
start of the runs: {', '.join(f'{x:.1f}' for x in loads if x == x)}); on a loaded machine CPU time
is still inflated by memory-bandwidth contention, so compare ratios within a row (measured
minutes apart) rather than across runs. **Memory** is the peak resident memory of one forward +
backward above the process's size just before it (inputs excluded), in a fresh process per case.
Cells: time (× the three-GEMM floor) · peak memory. OOM-skip: the estimated peak exceeded the
{meta.get('mem_limit_gb')} GiB per-case guard, so the case was not run; n/a: the library has no
such loss.

![loss benchmark](img/bench_losses.png)

## Targets

{targets(data)}

{notes}
## Results

{tables(data)}
"""


def plot(data: dict[str, Any], path: str | Path) -> None:
    """Time and peak memory against B, one column per (loss, d), log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    idx = _index(data["results"])
    panels = [(loss, dim) for loss in ("ntxent", "clip")
              for dim in sorted({r["dim"] for r in data["results"] if r["loss"] == loss})]
    fig, axes = plt.subplots(2, len(panels), figsize=(4.2 * len(panels), 7.5), squeeze=False)
    styles = {"floor": dict(color="black", linestyle="--"), "naive": dict(color="tab:gray"),
              "contrastkit_dense": dict(color="tab:blue"), "contrastkit_tiled": dict(color="tab:blue", linewidth=2.5),
              "pml": dict(color="tab:purple"), "st_mnrl": dict(color="tab:green"),
              "st_cached_mnrl": dict(color="tab:olive"), "lightly": dict(color="tab:orange"),
              "open_clip": dict(color="tab:red")}
    for col, (loss, dim) in enumerate(panels):
        for name in ORDER:
            pts = sorted((b, r) for (n, lo, d, b), r in idx.items() if n == name and lo == loss and d == dim and _ok(r))
            if not pts:
                continue
            xs = [b for b, _ in pts]
            style = dict(marker="o", markersize=3, **styles.get(name, {}))
            if name == "contrastkit_tiled":
                style["marker"] = "s"
            axes[0, col].plot(xs, [r["time_s"] for _, r in pts], label=IMPLS[name].label, **style)
            if name != "floor":
                axes[1, col].plot(xs, [max(r["peak_mb"], 0.1) for _, r in pts], label=IMPLS[name].label, **style)
        axes[0, col].set_title(f"{'NT-Xent' if loss == 'ntxent' else 'CLIP'}, d = {dim}")
        for row, ylabel in ((0, "fwd+bwd CPU time (s)"), (1, "peak memory (MB)")):
            ax = axes[row, col]
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("batch size B")
            ax.grid(True, which="both", alpha=0.3)
            if col == 0:
                ax.set_ylabel(ylabel)
    handles, labels = [], []
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=5, fontsize=8)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Render one or more result JSON files (later files override earlier cases)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("json", nargs="+")
    parser.add_argument("--markdown", default=None)
    parser.add_argument("--plot", default=None)
    parser.add_argument("--notes", default=None, help="markdown file with findings to include")
    args = parser.parse_args(argv)
    data: dict[str, Any] = {"meta": {}, "results": []}
    for path in args.json:
        part = json.loads(Path(path).read_text())
        keys = {r["key"] for r in part["results"]}
        data["results"] = [r for r in data["results"] if r["key"] not in keys] + part["results"]
        data["meta"] = part.get("meta", data["meta"])
    if args.markdown:
        notes = Path(args.notes).read_text() if args.notes else ""
        Path(args.markdown).write_text(markdown(data, notes))
    if args.plot:
        plot(data, args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
