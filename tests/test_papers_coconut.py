"""COCONUT's quick reproduction: a smoke run on a tiny synthesised corpus (claims not evaluated)."""

from __future__ import annotations

import pytest


@pytest.mark.requires_speech_synthesis
def test_quick_run_is_a_smoke_run(tmp_path, monkeypatch):
    monkeypatch.setenv("CONTRASTKIT_DATA", str(tmp_path))  # synthesise into a fresh cache
    from contrastkit.papers.coconut.reproduce import reproduce

    result = reproduce(quick=True)
    assert result.outcome() == "smoke" and "smoke run: claims not evaluated" in result.summary()
    assert not any(c.gating for c in result.claims)
    matrices = result.metrics["accuracy_matrices"]
    assert set(matrices) == {"er", "er_nspt", "er_nspt_mm"}
    for per_seed in matrices.values():
        (matrix,) = per_seed  # one seed, two tasks: A[0] has task 0, A[1] tasks 0 and 1
        assert [len(row) for row in matrix] == [1, 2]
        assert all(0.0 <= a <= 1.0 for row in matrix for a in row)
    assert (tmp_path / "speech").is_dir()
