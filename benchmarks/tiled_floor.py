"""Speed/memory harness of the tiled InfoNCE (moved out of ``contrastkit.functional.tiled``).

:func:`gemm_floor_seconds` is the three-GEMM floor any exact loss needs; :func:`measure_fwd_bwd` times
one forward+backward of ``InfoNCE(tile_size=...)`` in a fresh process (its peak RSS is the loss's own)
and divides by the floor. Figures: docs/benchmarks.md, docs/scale.md.
"""

from __future__ import annotations

from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def _blocks(n: int, tile: int) -> list[slice]:
    return [slice(i, min(i + tile, n)) for i in range(0, n, tile)]


def gemm_floor_seconds(rows: int, cols: int, dim: int, dtype: torch.dtype = torch.float32,
                       tile: int = 4096) -> float:
    """Process CPU time of the three products any exact loss needs (``X Y^T``, ``G Y``, ``G^T X``),
    run tile by tile so that it fits in memory; the denominator of the benchmark's ratio."""
    import time

    x = torch.randn(rows, dim, dtype=dtype)
    y = torch.randn(cols, dim, dtype=dtype)
    buf = torch.empty(min(tile, rows), min(tile, cols), dtype=dtype)
    out_x, out_y = torch.zeros_like(x), torch.zeros_like(y)
    start = time.process_time()
    for r in _blocks(rows, tile):
        for c in _blocks(cols, tile):
            s = buf[: r.stop - r.start, : c.stop - c.start]
            torch.mm(x[r], y[c].T, out=s)
            out_x[r].addmm_(s, y[c])
            out_y[c].addmm_(s.T, x[r])
    return time.process_time() - start


def measure_fwd_bwd(
    batch: int,
    dim: int,
    *,
    mode: str = "two_view",
    tile_size: int | None = 2048,
    threads: int = 1,
    dtype: str = "float32",
    floor: bool = True,
) -> dict[str, float]:
    """Benchmark helper: fwd+bwd of ``InfoNCE(mode=..., tile_size=...)`` on random ``(batch, dim)``
    views, run in a fresh Python process so that its peak resident memory is the loss's own.

    Returns ``cpu_s`` (process CPU time of one fwd+bwd, after a warm-up at a small size),
    ``peak_rss_mb`` (``ru_maxrss`` of that process), ``baseline_rss_mb`` (after creating the
    inputs), ``floor_s`` (three-GEMM floor for the same matrix: ``2·batch`` rows for two-view,
    ``batch`` for symmetric; computed in a second process) and ``ratio = cpu_s / floor_s``.
    """
    import json
    import subprocess
    import sys

    code = f"""
import json, resource, time, torch
torch.set_num_threads({threads})
from contrastkit.losses import InfoNCE
loss = InfoNCE(0.1, mode={mode!r}, tile_size={tile_size!r})
w = torch.randn(64, {dim}, requires_grad=True)
loss(w, torch.randn(64, {dim})).backward()
g = torch.Generator().manual_seed(0)
a = torch.randn({batch}, {dim}, generator=g, dtype=torch.{dtype}).requires_grad_()
b = torch.randn({batch}, {dim}, generator=g, dtype=torch.{dtype}).requires_grad_()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0, w0 = time.process_time(), time.perf_counter()
loss(a, b).backward()
out = dict(cpu_s=time.process_time() - t0, wall_s=time.perf_counter() - w0,
           peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           baseline_rss_mb=base)
print(json.dumps(out))
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(run.stdout.strip().splitlines()[-1])
    if floor:
        n = 2 * batch if mode == "two_view" else batch
        floor_code = (
            f"import torch; torch.set_num_threads({threads});"
            f"import sys; sys.path.insert(0, {str(ROOT)!r});"
            "from benchmarks.tiled_floor import gemm_floor_seconds as f;"
            f"print(f({n}, {n}, {dim}, torch.{dtype}))"
        )
        run = subprocess.run([sys.executable, "-c", floor_code], capture_output=True, text=True,
                             check=True)
        result["floor_s"] = float(run.stdout.strip().splitlines()[-1])
        result["ratio"] = result["cpu_s"] / result["floor_s"]
    return result


__all__ = ["gemm_floor_seconds", "measure_fwd_bwd"]
