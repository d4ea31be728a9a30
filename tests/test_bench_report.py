"""The speed report shows CLIP's recompute bound beside the recompute target."""

from __future__ import annotations

import pytest
import torch

from benchmarks.impls import Unsupported, make_floor_recompute
from benchmarks.speed_report import markdown


def test_recompute_bound_runs_for_clip_only() -> None:
    z1, z2 = torch.randn(64, 8), torch.randn(64, 8)
    make_floor_recompute("clip", z1, z2, 0.1, 16)()
    with pytest.raises(Unsupported, match="CLIP"):
        make_floor_recompute("ntxent", z1, z2, 0.1, 16)


def _record(impl: str, time_s: float) -> dict[str, object]:
    return dict(impl=impl, loss="clip", dim=128, batch=4096, status="ok", time_s=time_s, peak_mb=10.0)


def test_report_names_the_bound_in_the_recompute_row() -> None:
    data = {"meta": {"date": "d", "loadavg": [1.0], "tile_size": 512, "threads": 1, "min_runs": 3},
            "results": [_record("floor", 1.0), _record("floor_recompute", 1.45),
                        _record("contrastkit_recompute", 1.5), _record("contrastkit_tiled", 1.1)]}
    text = markdown(data, 256.0)
    assert "recompute bound" in text and "1.450 s (1.45×)" in text
    assert "| recompute tiled ≤ 1.4× its floor | clip d=128 B=4,096 | 1.50× (bound 1.45×) | **no** |" in text
