"""Contrastive-loss benchmark: forward + backward time and peak memory against the peers.

::

    python -m benchmarks.losses --json benchmarks/results/losses.json [--quick]
        [--d 128,512] [--batch 256,1024,...] [--impl naive,contrastkit_tiled,...] [--loss ntxent,clip]
        [--merge] [--device cpu|cuda] [--markdown docs/benchmarks.md] [--plot docs/img/bench_losses.png]

Losses: two-view NT-Xent (SimCLR, ``2B`` anchors) and CLIP's symmetric loss (``B`` pairs), on
random ``(B, d)`` embeddings, temperature 0.1. Implementations: :mod:`benchmarks.impls` (the GEMM
floor, the naive dense loss, contrastkit dense and tiled, pytorch-metric-learning,
sentence-transformers MNRL and CachedMNRL in this environment; lightly and open_clip in
``.venv-peers``, run with that venv's python and merged).

Every case runs in a fresh child process (``--quick``: B <= 1024, d = 128, one child per
environment, so its memory figures after the first case are only indicative; under a minute on
an idle machine) with ``torch.set_num_threads(1)``; times are process CPU time, because the
machine is shared. A case is skipped before it starts when its estimated peak memory passes
``--mem-limit-gb`` (default 12), and its child is killed if its resident memory passes that limit
or it runs past ``--timeout``. The full grid takes ~15 min per ``d``; run it in parts with
``--d`` / ``--batch`` and ``--merge`` to keep each run short on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PEER_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
FULL_BATCHES = {128: (256, 1024, 4096, 16384, 65536), 512: (256, 1024, 4096, 16384)}
QUICK_BATCHES = {128: (256, 1024)}
TAU = 0.1


def case_key(impl: str, loss: str, dim: int, batch: int, device: str = "cpu") -> str:
    """Identity of a case in the results (used to merge runs; GPU cases carry a ``|cuda`` suffix)."""
    key = f"{impl}|{loss}|d{dim}|B{batch}"
    return key if device == "cpu" else f"{key}|{device}"


def _csv_ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def _csv(text: str) -> list[str]:
    return [x for x in text.split(",") if x]


def build_specs(
    *,
    quick: bool,
    dims: Iterable[int] | None = None,
    batches: Iterable[int] | None = None,
    impls: Iterable[str] | None = None,
    losses: Iterable[str] | None = None,
    tile_size: int = 512,
    threads: int = 1,
    device: str = "cpu",
    min_runs: int = 0,
) -> list[dict[str, Any]]:
    """The cases to run, ordered by (d, loss, B) so that implementations compared with each other
    run close together in time (the machine's load drifts)."""
    from benchmarks.impls import IMPLS, LOSSES

    grid = QUICK_BATCHES if quick else FULL_BATCHES
    dims = list(dims) if dims else list(grid)
    names = list(impls) if impls else list(IMPLS)
    unknown = [n for n in names if n not in IMPLS]
    if unknown:
        raise ValueError(f"--impl: unknown {unknown}; expected names from {list(IMPLS)}")
    specs = []
    for dim in dims:
        for loss in (losses or LOSSES):
            for batch in (batches or grid.get(dim, grid[next(iter(grid))])):
                for name in names:
                    if loss not in IMPLS[name].losses:
                        continue
                    specs.append(dict(key=case_key(name, loss, dim, batch, device), impl=name, loss=loss,
                                      batch=batch, dim=dim, tau=TAU, tile_size=tile_size, threads=threads,
                                      device=device,
                                      min_time=0.2 if quick else 2.0, max_repeats=3 if quick else 7,
                                      min_runs=min_runs))
    return specs


def _estimate_skip(spec: dict[str, Any], mem_limit: float) -> str | None:
    from benchmarks.impls import IMPLS, tile_memory_bytes

    impl = IMPLS[spec["impl"]]
    est = impl.memory_bytes(spec["loss"], spec["batch"], spec["dim"]) + tile_memory_bytes(
        impl, spec["loss"], spec["batch"], spec["tile_size"])
    if est > mem_limit:
        return f"estimated peak {est / 2**30:.1f} GiB > limit {mem_limit / 2**30:.0f} GiB (not run)"
    return None


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _run_group(python: str, specs: list[dict[str, Any]], *, timeout: float, mem_limit: float,
               log: Any) -> list[dict[str, Any]]:
    """Run specs in one child; kill it on timeout or when its RSS passes ``mem_limit``."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    threads = str(specs[0]["threads"])
    env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads, TOKENIZERS_PARALLELISM="false",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    proc = subprocess.Popen([python, "-m", "benchmarks.worker", json.dumps(specs)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    errors: list[str] = []
    threading.Thread(target=lambda: errors.extend(proc.stderr or []), daemon=True).start()
    done: dict[str, dict[str, Any]] = {}
    current: str | None = None
    started = time.monotonic()
    killed: str | None = None
    peak_rss = 0
    while True:
        try:
            line = lines.get(timeout=0.1)
        except queue.Empty:
            line = ""
        if line is None:
            break
        if line.startswith("{"):
            msg = json.loads(line)
            if msg["event"] == "start":
                current, started, peak_rss = msg["key"], time.monotonic(), 0
            else:
                rec = msg["record"]
                rec["child_peak_rss_mb"] = peak_rss / 2**20
                done[rec["key"]] = rec
                current = None
                log(rec)
        rss = _rss_bytes(proc.pid)
        peak_rss = max(peak_rss, rss)
        if rss > mem_limit:
            killed = f"killed: resident memory {rss / 2**30:.1f} GiB passed the {mem_limit / 2**30:.0f} GiB guard"
        elif current is not None and time.monotonic() - started > timeout:
            killed = f"killed: timeout after {timeout:.0f} s"
        if killed:
            proc.kill()
            break
    proc.wait()
    records = []
    for spec in specs:
        if spec["key"] in done:
            records.append(done[spec["key"]])
            continue
        if killed and spec["key"] == current:
            reason = killed
        elif killed:
            reason = "not run: an earlier case in the same child was killed"
        else:
            reason = f"child exited ({proc.returncode}): {''.join(errors)[-400:]}"
        rec = dict(spec, status="killed" if killed and spec["key"] == current else "error", reason=reason)
        log(rec)
        records.append(rec)
    return records


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on."""
    import torch

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    import contrastkit

    src = Path(contrastkit.__file__).resolve().parent

    def git(*args: str) -> str:
        # Asked of the checkout that holds the contrastkit being measured (PYTHONPATH may point
        # at a clean worktree rather than this one).
        try:
            return subprocess.run(["git", *args], cwd=src, capture_output=True, text=True,
                                  timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return dict(cpu=cpu, cores=os.cpu_count(), python=platform.python_version(), torch=torch.__version__,
                platform=platform.platform(), loadavg=list(load),
                date=time.strftime("%Y-%m-%d %H:%M:%S %Z"), commit=git("rev-parse", "--short", "HEAD"),
                contrastkit_src=str(src), src_modified=bool(git("status", "--porcelain", "--", ".")))


def _peer_torch() -> str | None:
    if not PEER_PYTHON.exists():
        return None
    out = subprocess.run([str(PEER_PYTHON), "-c", "import torch; print(torch.__version__)"],
                         capture_output=True, text=True, timeout=120)
    return out.stdout.strip() or None


def _faster(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """The faster of two passes of one case (``passes`` counts them); ``new`` when ``old`` is absent."""
    if old is None or new.get("status") != "ok":
        return new if old is None else old
    passes = int(old.get("passes", 1)) + 1
    best = old if old["time_s"] <= new["time_s"] else new
    return dict(best, passes=passes, pass_times_s=[*old.get("pass_times_s", [old["time_s"]]), new["time_s"]])


def run(json_path: str | os.PathLike[str] | None, quick: bool = False, *,
        dims: Iterable[int] | None = None, batches: Iterable[int] | None = None,
        impls: Iterable[str] | None = None, losses: Iterable[str] | None = None,
        tile_size: int = 512, threads: int = 1, mem_limit_gb: float = 12.0,
        timeout: float | None = None, merge: bool = False, verbose: bool = True,
        device: str = "cpu", min_runs: int = 0, keep_faster: bool = False) -> list[dict[str, Any]]:
    """Run the benchmark and return its records; write ``{"meta", "results"}`` JSON to
    ``json_path`` (merged by case key into an existing file when ``merge``)."""
    from benchmarks.impls import IMPLS

    mem_limit = mem_limit_gb * 2**30
    timeout = timeout if timeout is not None else (60.0 if quick else 900.0)
    specs = build_specs(quick=quick, dims=dims, batches=batches, impls=impls, losses=losses,
                        tile_size=tile_size, threads=threads, device=device, min_runs=min_runs)

    def log(rec: dict[str, Any]) -> None:
        if not verbose:
            return
        if rec.get("status") == "ok":
            msg = f"{rec['time_s']:8.3f} s  {rec['peak_mb']:9.1f} MB  x{rec['repeats']}"
        else:
            msg = f"{rec.get('status')}: {rec.get('reason', '')[:100]}"
        print(f"[bench] {rec['key']:<40} {msg}", file=sys.stderr, flush=True)

    records: list[dict[str, Any]] = []
    meta = dict(machine_info(), quick=quick, threads=threads, tau=TAU, tile_size=tile_size, device=device,
                mem_limit_gb=mem_limit_gb,
                timing=("process CPU time (user + system), min over repeats" if device == "cpu"
                        else "wall time between CUDA synchronisations, min over repeats"),
                peers_torch=_peer_torch(), one_process_per_case=not quick, min_runs=min_runs)
    old_results: list[dict[str, Any]] = []
    path = Path(json_path) if json_path is not None else None
    if path is not None and merge and path.exists():
        old = json.loads(path.read_text())
        old_results = old.get("results", [])
        meta["runs"] = old.get("meta", {}).get("runs", [old.get("meta", {})]) + [dict(meta)]

    def save() -> None:
        # Written after every group, so an interrupted long run keeps what it measured.
        if path is None:
            return
        current = records
        if keep_faster:  # several passes: each case keeps its fastest pass (all cases alike)
            previous = {r["key"]: r for r in old_results if r.get("status") == "ok"}
            current = [_faster(previous.get(r["key"]), r) for r in records]
        new_keys = {r["key"] for r in current}
        results = [r for r in old_results if r["key"] not in new_keys] + current
        meta["loadavg_last_save"] = list(os.getloadavg())
        meta["date_last_save"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"meta": meta, "results": results}, indent=1) + "\n")

    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for spec in specs:
        reason = _estimate_skip(spec, mem_limit)
        if reason is not None:
            rec = dict(spec, status="skipped", reason=reason)
            log(rec)
            records.append(rec)
            continue
        env = IMPLS[spec["impl"]].env
        group = (env,) if quick else (env, spec["key"])
        groups.setdefault(group, []).append(spec)
    for (env, *_), group_specs in groups.items():
        if env == "peers" and not PEER_PYTHON.exists():
            for spec in group_specs:
                rec = dict(spec, status="skipped",
                           reason=f"{PEER_PYTHON.relative_to(ROOT)} missing: run scripts/peer_parity.sh")
                log(rec)
                records.append(rec)
            continue
        python = str(PEER_PYTHON) if env == "peers" else sys.executable
        records.extend(_run_group(python, group_specs, timeout=timeout, mem_limit=mem_limit, log=log))
        save()
    order = {spec["key"]: i for i, spec in enumerate(specs)}
    records.sort(key=lambda r: order[r["key"]])
    save()
    return records


def main(argv: list[str] | None = None) -> int:
    """Command-line entry (also called by ``contrastkit bench losses``)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.losses", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", required=True, help="write the results here")
    parser.add_argument("--quick", action="store_true", help="B <= 1024, d = 128; under a minute")
    parser.add_argument("--d", type=_csv_ints, default=None, help="embedding dims, e.g. 128,512")
    parser.add_argument("--batch", type=_csv_ints, default=None, help="batch sizes, e.g. 256,4096")
    parser.add_argument("--impl", type=_csv, default=None, help="implementations (benchmarks.impls.IMPLS)")
    parser.add_argument("--loss", type=_csv, default=None, help="ntxent,clip")
    parser.add_argument("--tile-size", type=int, default=512,
                        help="tiled / chunked implementations (default: contrastkit's auto tile)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per case (default 1)")
    parser.add_argument("--mem-limit-gb", type=float, default=12.0, help="per-case memory guard")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per case")
    parser.add_argument("--merge", action="store_true", help="merge into an existing --json by case")
    parser.add_argument("--min-runs", type=int, default=0,
                        help="time this many runs after a warm-up run, however long (default: the "
                             "first run is the only one when it takes >= 2 s)")
    parser.add_argument("--keep-faster", action="store_true",
                        help="with --merge: a case already in --json keeps the faster of its passes (run the "
                             "same command several times on a machine whose load drifts)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where the embeddings live; cuda times wall clock between synchronisations")
    parser.add_argument("--markdown", default=None, help="also write the markdown report here")
    parser.add_argument("--plot", default=None, help="also write the PNG plot here")
    args = parser.parse_args(argv)
    if args.keep_faster and not args.merge:
        parser.error("--keep-faster: needs --merge (it compares with the cases already in --json)")
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            parser.error("--device: cuda requested but torch.cuda.is_available() is False on this machine")
    run(args.json, args.quick, dims=args.d, batches=args.batch, impls=args.impl, losses=args.loss,
        tile_size=args.tile_size, threads=args.threads, mem_limit_gb=args.mem_limit_gb,
        timeout=args.timeout, merge=args.merge, device=args.device, min_runs=args.min_runs,
        keep_faster=args.keep_faster)
    if args.markdown or args.plot:
        from benchmarks import report

        data = json.loads(Path(args.json).read_text())
        if args.markdown:
            Path(args.markdown).write_text(report.markdown(data))
        if args.plot:
            report.plot(data, args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
