"""Child process of the loss benchmark: measures cases and prints one JSON line per case.

``python -m benchmarks.worker '<json list of case specs>'``. A spec holds ``impl``, ``loss``,
``batch``, ``dim``, ``tau``, ``tile_size``, ``threads``, ``min_time``, ``max_repeats`` and optionally
``device`` (``cpu`` default; ``cuda`` times wall clock between synchronisations and reads the peak
from the CUDA allocator).

Per case: build the seeded embeddings, then reset the kernel's resident-set high-water mark
(``/proc/self/clear_refs``), run one forward + backward and read ``VmHWM``: the peak memory is
``VmHWM`` minus the resident size just before the run (the inputs and imports excluded). Where the
reset is unavailable it falls back to ``ru_maxrss``. Timing is process CPU time
(``time.process_time``, user + system, so page faults count), wall time kept alongside; the first
run is the warm-up unless it alone took longer than ``min_time``, then further runs until
``min_time`` seconds or ``max_repeats`` runs. Run one case per process for clean memory figures.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import statistics
import sys
import time
import traceback
from typing import Any

import torch


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one case and return its record (status ``ok``, ``skipped`` or ``error``)."""
    from benchmarks.impls import IMPLS, Unsupported

    impl = IMPLS[spec["impl"]]
    record: dict[str, Any] = dict(spec)
    record.update(torch=torch.__version__)
    torch.manual_seed(0)
    device = torch.device(spec.get("device", "cpu"))
    gen = torch.Generator().manual_seed(spec["batch"] * 7919 + spec["dim"])
    z1 = torch.randn(spec["batch"], spec["dim"], generator=gen).to(device).requires_grad_()
    z2 = torch.randn(spec["batch"], spec["dim"], generator=gen).to(device).requires_grad_()
    try:
        step = impl.make(spec["loss"], z1, z2, spec["tau"], spec["tile_size"])
    except Unsupported as exc:
        record.update(status="skipped", reason=str(exc))
        return record
    if device.type == "cuda":
        return _measure_cuda(step, spec, record)
    gc.collect()
    exact = _reset_peak()
    rss_before = _status_kb("VmRSS") or 0
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0, w0 = time.process_time(), time.perf_counter()
    value = step()
    first, first_wall = time.process_time() - t0, time.perf_counter() - w0
    if exact:
        peak_kb = (_status_kb("VmHWM") or 0) - rss_before
    else:  # only a lower bound when the process had been larger before
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - max(maxrss_before, rss_before)
    times, walls = [], []
    faults_before: int | None = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    if spec.get("min_runs", 0) > 0:  # steady state: the first run was the warm-up
        for _ in range(spec["min_runs"]):
            t0, w0 = time.process_time(), time.perf_counter()
            step()
            times.append(time.process_time() - t0)
            walls.append(time.perf_counter() - w0)
    elif first >= spec["min_time"]:
        times, walls = [first], [first_wall]
        faults_before = None  # the warm-up is the timed run: its faults are not counted
    else:
        while len(times) < spec["max_repeats"] and (len(times) < 3 or sum(times) < spec["min_time"]):
            t0, w0 = time.process_time(), time.perf_counter()
            step()
            times.append(time.process_time() - t0)
            walls.append(time.perf_counter() - w0)
    # Minor page faults per timed run: fresh memory the allocator had to take from the kernel (each
    # fault costs microseconds of system time, counted in the CPU time).
    faults = None if faults_before is None else (
        (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before) / len(times))
    record.update(
        status="ok",
        value=value,
        minor_faults_per_run=faults,
        time_s=min(times),
        time_median_s=statistics.median(times),
        wall_s=min(walls),
        repeats=len(times),
        first_run_s=first,
        peak_mb=max(peak_kb, 0) / 1024,
        peak_method="VmHWM" if exact else "ru_maxrss",
        loadavg=list(os.getloadavg()),
    )
    return record


def _measure_cuda(step: Any, spec: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """GPU timing: wall time between synchronisations (process CPU time says nothing about the
    device), min over repeats after one warm-up; peak memory from ``torch.cuda.max_memory_allocated``
    above what was allocated before the step (inputs excluded)."""
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    w0 = time.perf_counter()
    value = step()
    torch.cuda.synchronize()
    first = time.perf_counter() - w0
    peak = torch.cuda.max_memory_allocated() - base
    times: list[float] = []
    while len(times) < spec["max_repeats"] and (len(times) < 3 or sum(times) < spec["min_time"]):
        w0 = time.perf_counter()
        step()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - w0)
    record.update(status="ok", value=value, time_s=min(times), time_median_s=statistics.median(times),
                  wall_s=min(times), repeats=len(times), first_run_s=first, peak_mb=max(peak, 0) / 2**20,
                  peak_method="torch.cuda.max_memory_allocated", timing="wall time, CUDA synchronised",
                  gpu=torch.cuda.get_device_name())
    return record


def main(argv: list[str] | None = None) -> int:
    """Measure every spec in the JSON list given as the first argument."""
    specs = json.loads((argv if argv is not None else sys.argv[1:])[0])
    torch.set_num_threads(int(specs[0].get("threads", 1)))
    for spec in specs:
        print(json.dumps({"event": "start", "key": spec["key"]}), flush=True)
        try:
            record = measure(spec)
        except Exception as exc:  # one broken peer must not end the run
            record = dict(spec, status="error", reason=f"{type(exc).__name__}: {exc}",
                          traceback=traceback.format_exc(limit=3))
        print(json.dumps({"event": "result", "record": record}), flush=True)
        gc.collect()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
