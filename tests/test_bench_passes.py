"""The loss benchmark's multi-pass merge keeps each case's fastest pass."""

from __future__ import annotations

from benchmarks.losses import _faster


def test_faster_keeps_the_lower_time_and_counts_passes() -> None:
    first = dict(key="k", status="ok", time_s=2.0, peak_mb=10.0)
    second = dict(key="k", status="ok", time_s=1.5, peak_mb=11.0)
    third = dict(key="k", status="ok", time_s=1.8, peak_mb=12.0)
    best = _faster(_faster(first, second), third)
    assert best["time_s"] == 1.5 and best["peak_mb"] == 11.0
    assert best["passes"] == 3 and best["pass_times_s"] == [2.0, 1.5, 1.8]


def test_faster_ignores_a_failed_pass_and_takes_a_first_one() -> None:
    ok = dict(key="k", status="ok", time_s=2.0)
    assert _faster(ok, dict(key="k", status="error")) is ok
    assert _faster(None, ok) is ok
