"""InverTune stage 3 (critical layers/units, activation tuning) on hand-made cases, the claims, a smoke run."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from contrastkit.papers.invertune.module import activation_tune, critical_units, layer_impact, tuning_loss


def test_critical_units_select_the_planted_units():
    g = torch.Generator().manual_seed(0)
    shift = torch.zeros(100)
    planted = torch.randperm(100, generator=g)[:10]
    shift[planted] = 5 + 0.1 * torch.randn(10, generator=g)
    shift = shift * torch.where(torch.rand(100, generator=g) < 0.5, -1.0, 1.0)  # |shift| is what counts
    units = critical_units(shift)
    assert units.sum() == 10
    assert set(torch.nonzero(units).flatten().tolist()) == set(planted.tolist())
    assert bool(critical_units(torch.full((7,), 2.0)).all())  # nothing to split: every unit


def test_layer_impact_hand_value_and_zero():
    a = torch.tensor([[3.0, 0.0], [1.0, 0.0]])  # mean (2, 0), norm 2
    b = torch.tensor([[2.0, 1.0], [2.0, 1.0]])  # mean (2, 1): shift (0, -1), norm 1
    assert layer_impact(a, b) == pytest.approx(0.5)
    assert layer_impact(a, a.clone()) == 0.0
    with pytest.raises(ValueError, match="triggered_act"):
        layer_impact(a, torch.zeros(2, 3))


def test_tuning_loss_with_identical_activations_is_the_feature_term():
    g = torch.Generator().manual_seed(1)
    acts = [torch.randn(4, 3, 2, 2, generator=g), torch.randn(4, 5, generator=g)]
    units = [torch.ones(12, dtype=torch.bool), torch.ones(5, dtype=torch.bool)]
    z, z0 = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g)
    feature = torch.nn.functional.normalize(z, dim=1) - torch.nn.functional.normalize(z0, dim=1)
    ref = 0.5 * float(feature.pow(2).sum().sqrt())
    assert float(tuning_loss(acts, [a.clone() for a in acts], units, z, z0)) == pytest.approx(ref, rel=1e-5)
    # a hand-checked activation term: masked mean shift / masked clean mean norm
    b = [acts[0].clone(), acts[1] + torch.tensor([1.0, 0, 0, 0, 0])]
    only_first = [units[0], torch.tensor([True, False, False, False, False])]
    extra = 1.0 / abs(float(acts[1][:, 0].mean()))
    assert float(tuning_loss(acts, b, only_first, z, z0)) == pytest.approx(ref + extra, rel=1e-5)


def _tower() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1),
                         nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 6))


def _inputs():
    g = torch.Generator().manual_seed(2)
    clean = torch.rand(16, 1, 8, 8, generator=g) * 0.5
    mask = torch.zeros(1, 8, 8)
    mask[:, -2:, -2:] = 1.0
    return clean, mask, torch.ones(1, 8, 8)


def test_activation_tune_with_lr_zero_leaves_the_model_unchanged():
    tower = _tower()
    before = {k: v.clone() for k, v in tower.state_dict().items()}
    clean, mask, pattern = _inputs()
    tuned, info = activation_tune(tower, [tower[2], tower[4], tower[5]], clean, mask, pattern, n_layers=2,
                                  steps=5, lr=0.0)
    for k, v in tuned.state_dict().items():
        assert torch.equal(v, before[k]), k
    for k, v in tower.state_dict().items():  # the input model is not modified either
        assert torch.equal(v, before[k]), k
    assert len(info["layers"]) == 2 and info["best_loss"] == pytest.approx(info["initial_loss"])


def test_activation_tune_lowers_its_loss_and_chooses_layers_by_impact():
    tower = _tower()
    clean, mask, pattern = _inputs()
    tuned, info = activation_tune(tower, [tower[2], tower[4], tower[5]], clean, mask, pattern, n_layers=2,
                                  steps=40, lr=1e-2)
    impact = info["impact"]
    assert info["layers"] == sorted(range(3), key=lambda i: -impact[i])[:2]
    assert info["best_loss"] < info["initial_loss"]
    with pytest.raises(ValueError, match="candidates"):
        activation_tune(tower, [nn.ReLU()], clean, mask, pattern, steps=1)
    with pytest.raises(ValueError, match="clean"):
        activation_tune(tower, [tower[2]], clean * 3, mask, pattern, steps=1)


def test_decide_reads_the_numbers():
    from contrastkit.papers._claims import load_recipe
    from contrastkit.papers.invertune.reproduce import RECIPE, decide

    cfg = load_recipe(RECIPE)
    base = {"identified_target": [0.0, 0.0, 3.0], "uap_share_increase": [0.7, 0.8, 0.2],
            "inverted_asr": [1.0] * 3, "inverted_mask_fraction": [0.07] * 3}
    good = base | {"target_found": [1.0, 1.0, 0.0], "asr_before": [0.99, 0.98, 0.99], "asr_after": [0.02, 0.03, 0.01],
                   "ca_before": [0.95, 0.94, 0.96], "ca_after": [0.94, 0.94, 0.95]}
    good["asr_relative_reduction"] = [1 - a / b for a, b in zip(good["asr_after"], good["asr_before"], strict=True)]
    assert decide(cfg, good, quick=False).outcome() == "pass"
    one_target = good | {"target_found": [1.0, 0.0, 0.0]}
    assert decide(cfg, one_target, quick=False).outcome() == "fail"
    weak = good | {"asr_after": [0.5, 0.6, 0.55]}
    weak["asr_relative_reduction"] = [1 - a / b for a, b in zip(weak["asr_after"], weak["asr_before"], strict=True)]
    assert decide(cfg, weak, quick=False).outcome() == "fail"
    clean_victim = good | {"asr_before": [0.02, 0.01, 0.03]}
    assert decide(cfg, clean_victim, quick=False).outcome() == "not testable"


def test_quick_reproduction_is_a_smoke_run():
    from contrastkit.papers.invertune.reproduce import reproduce

    r = reproduce(quick=True)
    assert r.outcome() == "smoke"
    assert set(r.metrics) >= {"asr_before", "asr_after", "ca_before", "ca_after", "target_found"}
