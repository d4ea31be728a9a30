"""Smoke tests of the quick reproductions (1 seed, tiny); the claims themselves are checked by the
full runs (``contrastkit reproduce autotcl|comet|dbpm``, numbers in docs/timeseries.md)."""

import time

import pytest
import torch

from contrastkit.reproduce import timeseries as R


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(1)


@pytest.mark.parametrize("name", ["autotcl", "comet", "dbpm"])
def test_quick_variant_runs(name):
    start = time.process_time()
    result = getattr(R, name)(quick=True)
    assert result.quick and result.name == name and result.claims
    assert all(isinstance(c.passed, bool) for c in result.claims)
    assert result.metrics["seeds"] == [0]
    accuracy = result.metrics["accuracy"]
    values = [v for d in accuracy.values() for v in (d.values() if isinstance(d, dict) else [d])]
    flat = [a for v in values for a in v]
    assert flat and all(0.0 <= a <= 1.0 for a in flat)
    # the quick budget is 60 s of CPU (wall time depends on how busy the shared machine is)
    assert time.process_time() - start < 60
