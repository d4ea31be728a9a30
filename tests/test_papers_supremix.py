"""SupReMix reproduction: integer-degree data, the design numbers against brute force, the precondition
logic with fabricated per-seed numbers, and the quick (smoke) run."""

from __future__ import annotations

import itertools

import pytest
import torch

from contrastkit.papers._claims import load_recipe
from contrastkit.papers.supremix import reproduce as sm


def test_rotated_digits_integer_labels_and_zero_rotation() -> None:
    img = torch.rand(20, 1, 8, 8)
    x, y = sm.rotated_digits_integer(img, max_angle=30, copies=2, seed=0)
    assert x.shape == (40, 1, 16, 16) and y.shape == (40,)
    assert torch.equal(y, y.round()) and y.min() >= -30 and y.max() <= 30
    x1, y1 = sm.rotated_digits_integer(img, max_angle=1, seed=3)
    up = img.repeat_interleave(2, 2).repeat_interleave(2, 3)
    zero = y1 == 0
    if zero.any():  # an angle of 0 leaves the upsampled digit unchanged
        torch.testing.assert_close(x1[zero], up[zero], atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="max_angle"):
        sm.rotated_digits_integer(img, max_angle=2.5)


def test_exact_positive_share_and_mean_weight_against_brute_force() -> None:
    y = torch.tensor([0.0, 0.0, 1.0, 2.0, 2.0, 2.0])
    # P(another sample of my label among b - 1 draws) averaged over anchors drawn from the label frequencies
    b = 3
    p = {0.0: 2 / 6, 1.0: 1 / 6, 2.0: 3 / 6}
    expected = sum(pk * (1 - (1 - pk) ** (b - 1)) for pk in p.values())
    assert sm.exact_positive_share(y, b) == pytest.approx(expected)
    pairs = [abs(float(y[i] - y[j])) + 1 for i, j in itertools.combinations(range(6), 2)]
    assert sm.mean_weight(y) == pytest.approx(sum(pairs) / len(pairs))


def _design(**kw: float) -> dict[str, float]:
    return {"constant_mae": 15.0, "exact_positive_share": 0.65, "mean_weight": 21.0} | kw


def test_precondition_failures_give_not_testable() -> None:
    cfg = load_recipe(sm.RECIPE)
    j = [0.05, -0.1, 0.08, 0.0, -0.03, 0.1, 0.02, -0.05]
    mae = {"random_init": [6.0 + d for d in j], "l1": [3.0 + d for d in j[::-1]],
           "supcon": [3.2 + d for d in j], "supremix": [3.5 + d for d in j[1:] + j[:1]]}
    # the old units: |dy| < 1 -> the magnifier is neutralised -> not testable, whatever the MAEs
    assert sm.decide(cfg, mae, _design(mean_weight=1.3), quick=False).outcome() == "not testable"
    # continuous labels: no exact-label positives
    assert sm.decide(cfg, mae, _design(exact_positive_share=0.0), quick=False).outcome() == "not testable"
    # a baseline that does not train beyond the untrained encoder
    flat = dict(mae, l1=[6.1 + d for d in j[::-1]])
    assert sm.decide(cfg, flat, _design(), quick=False).outcome() == "not testable"
    # preconditions hold, SupReMix clearly worse: fail
    assert sm.decide(cfg, mae, _design(), quick=False).outcome() == "fail"


def test_pass_when_supremix_beats_both() -> None:
    cfg = load_recipe(sm.RECIPE)
    j = [0.05, -0.1, 0.08, 0.0, -0.03, 0.1, 0.02, -0.05]
    mae = {"random_init": [6.0 + d for d in j], "l1": [3.0 + d for d in j[::-1]],
           "supcon": [3.2 + d for d in j], "supremix": [2.5 + d for d in j[1:] + j[:1]]}
    r = sm.decide(cfg, mae, _design(), quick=False)
    assert r.outcome() == "pass", r.summary()
    assert r.claims[-1].test.effect == pytest.approx(0.5, abs=0.05)  # MAE gain over L1, degrees


def test_quick_run_is_a_smoke_run() -> None:
    r = sm.reproduce(quick=True)
    assert r.outcome() == "smoke" and "smoke run: claims not evaluated" in r.summary()
    assert set(r.metrics["probe_mae_degrees"]) == {"random_init", "l1", "supcon", "supremix"}
