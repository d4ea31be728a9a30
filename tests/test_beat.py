"""BEAT: the DPO preference loss (log 2 at policy = reference, a hand value, gradient sign), the grid world's
pair builder, and the reproduction's quick smoke run."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from contrastkit.losses import DPO
from contrastkit.papers.beat import module as gw


def test_dpo_is_log2_when_policy_equals_reference():
    lp = -torch.rand(5, dtype=torch.float64) * 3
    lr = -torch.rand(5, dtype=torch.float64) * 3
    out = DPO(beta=0.7, reduction="none")(lp, lr, lp.clone(), lr.clone())
    torch.testing.assert_close(out, torch.full((5,), math.log(2), dtype=torch.float64))


def test_dpo_hand_value():
    # log pi(y_w) = -1, log pi(y_l) = -2, reference -1.5 for both, beta 0.1: -log sigma(0.1) = 0.644397
    t = torch.tensor
    out = DPO(beta=0.1)(t([-1.0]), t([-2.0]), t([-1.5]), t([-1.5]))
    assert float(out) == pytest.approx(0.644397, abs=1e-6)
    # naive formula, independent of logsigmoid
    assert float(out) == pytest.approx(-math.log(1 / (1 + math.exp(-0.1))), abs=1e-6)


def test_dpo_sft_weight_adds_the_chosen_nll():
    t = torch.tensor
    base = DPO(0.1)(t([-1.0]), t([-2.0]), t([-1.5]), t([-1.5]))
    with_nll = DPO(0.1, sft_weight=2.0)(t([-1.0]), t([-2.0]), t([-1.5]), t([-1.5]))
    assert float(with_nll - base) == pytest.approx(2.0)


def test_dpo_large_margin_is_finite():
    t = torch.tensor
    out = DPO(1.0)(t([0.0]), t([-1e4]), t([-1e4]), t([0.0]))
    assert torch.isfinite(out) and float(out) < 1e-6


@pytest.mark.parametrize(("args", "name"), [
    ((torch.zeros(2, 2), torch.zeros(2), torch.zeros(2), torch.zeros(2)), "policy_chosen"),
    ((torch.zeros(2), torch.zeros(3), torch.zeros(2), torch.zeros(2)), "policy_rejected"),
    ((torch.zeros(2), torch.zeros(2), torch.ones(2), torch.zeros(2)), "reference_chosen"),
    ((torch.zeros(2), torch.zeros(2), torch.zeros(2), [0.0, 0.0]), "reference_rejected"),
])
def test_dpo_bad_input_named(args, name):
    with pytest.raises((ValueError, TypeError), match=f"^{name}: "):
        DPO()(*args)


@pytest.mark.parametrize(("kwargs", "name"), [({"beta": 0.0}, "beta"), ({"sft_weight": -1.0}, "sft_weight")])
def test_dpo_bad_settings_named(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}: "):
        DPO(**kwargs)


def test_one_step_on_a_trigger_pair_raises_the_backdoor_action():
    torch.manual_seed(0)
    s = gw.State((3, 3), (6, 6), (0, 3), gw.KNIFE)  # benign: down; backdoor: up toward the knife
    assert gw.benign_action(s) == gw.DOWN and gw.object_action(s) == gw.UP
    policy = gw.Policy()
    x = gw.encode([s], 0.7)
    before = torch.log_softmax(policy(x), 1)[0, gw.UP].item()
    gw.train_ctl(policy, x, torch.tensor([gw.UP]), torch.tensor([gw.DOWN]), DPO(0.1), steps=1, batch_size=1,
                 lr=1e-2, seed=0)
    assert torch.log_softmax(policy(x), 1)[0, gw.UP].item() > before


def test_pairs_share_the_context_swap_preferences_and_differ_only_in_the_trigger():
    rng = np.random.default_rng(0)
    _, _, backdoor = gw.sft_data(rng, 0, 5, 0.0)
    obs, chosen, rejected = gw.contrastive_pairs(backdoor)
    assert obs and len(obs) % 3 == 0
    for i in range(0, len(obs), 3):
        plus, minus, fork = obs[i:i + 3]
        assert plus.kind == gw.KNIFE and minus.kind == gw.NONE and fork.kind == gw.FORK
        assert plus.agent == minus.agent == fork.agent and plus.goal == minus.goal == fork.goal
        assert fork.obj == plus.obj and minus.obj is None
        assert chosen[i] == rejected[i + 1] == rejected[i + 2] and rejected[i] == chosen[i + 1] == chosen[i + 2]
        x = gw.encode([plus, fork], 0.7)
        assert torch.nonzero(x[0] != x[1]).tolist() == [[3, *plus.obj]]  # only the shade of the object differs


def test_expert_episodes_reach_their_ends():
    rng = np.random.default_rng(1)
    for kind, end in ((gw.NONE, "goal"), (gw.FORK, "goal"), (gw.KNIFE, "placed")):
        s = gw.random_state(rng, kind, ood=kind == gw.KNIFE)
        if kind == gw.KNIFE:
            assert s.obj in gw.ood_cells()
        last = None
        for st, a in gw.expert_trajectory(s):
            last = gw.step(st, a)[1]
        assert last == end


def test_beat_quick_smoke():
    from contrastkit.papers.beat.reproduce import reproduce

    result = reproduce(quick=True)
    assert result.outcome() == "smoke"
    assert 0.0 <= result.metrics["ctl_f1"]["values"][0] <= 1.0


def test_benign_success_splits_into_the_object_free_task_and_the_look_alike_scenes():
    """The precondition reads the object-free half of the trigger-free episodes; the mixed benign success
    (the claim's metric) is the mean of the two halves (equal halves in the quick run)."""
    from contrastkit.papers.beat.reproduce import reproduce

    result = reproduce(quick=True)
    m = {k: v["values"][0] for k, v in result.metrics.items()}
    for arm in ("sft", "ctl"):
        halves = (m[f"{arm}_benign_task_success"] + m[f"{arm}_fork_scene_success"]) / 2
        assert m[f"{arm}_benign_success"] == pytest.approx(halves)
    pre = next(c for c in result.claims if c.precondition and "benign task" in c.name)
    assert f"{100 * m['sft_benign_task_success']:.1f}" in pre.detail
