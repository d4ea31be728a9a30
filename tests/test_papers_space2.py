"""space2: the labeled split, the decision rules on hand values, the strict recipe, the module's step, the quick
run."""

import copy

import pytest
import torch
import yaml

from contrastkit.papers._schema import RecipeError, parse_paper_recipe
from contrastkit.papers.space2 import reproduce as sp
from contrastkit.papers.space2.module import TreeSemiSupervised
from contrastkit.text.dialogue import TreeScores, exact_tree_match


def _values(gap_hard, gap_space, learn=0.05):
    noise = [0.0, 0.011, -0.008]
    out = {}
    for arm, shift in (("base", 0.0), ("simclr", 0.0), ("hard", learn + gap_hard),
                       ("space2", learn + gap_hard + gap_space)):
        out[arm] = {m: [0.5 + shift + s + 0.001 * i * (arm != "base") for i, s in enumerate(noise)]
                    for m in sp.METRICS}
    out["base"] = {m: [v - learn - gap_hard - 0.01 for v in out["hard"][m]] for m in sp.METRICS}
    return out


def test_decide_on_hand_values():
    r = sp.load()
    assert sp.decide(r, _values(0.06, 0.08), quick=False).outcome() == "pass"
    assert sp.decide(r, _values(0.06, -0.10), quick=False).outcome() == "fail"
    learned_nothing = _values(0.06, 0.08)
    learned_nothing["base"] = {m: [v + 0.2 for v in learned_nothing["hard"][m]] for m in sp.METRICS}
    assert sp.decide(r, learned_nothing, quick=False).outcome() == "not testable"
    assert sp.decide(r, _values(0.06, 0.08), quick=True).outcome() == "smoke"


def test_labeled_split_is_seeded_and_disjoint():
    lab, unl = sp.labeled_split(100, 0.3, seed=1)
    assert len(lab) == 30 and len(unl) == 70 and not set(lab.tolist()) & set(unl.tolist())
    assert torch.equal(sp.labeled_split(100, 0.3, seed=1)[0], lab)
    assert not torch.equal(sp.labeled_split(100, 0.3, seed=2)[0], lab)


def test_recipe_is_strict():
    data = yaml.safe_load(sp.RECIPE.read_text())
    full = sp.load()
    assert list(full.arms) == ["simclr", "hard", "space2"] and full.data.labeled_fraction == 0.3
    bad = copy.deepcopy(data)
    bad["arms"]["space2"]["supervision"] = "soft"
    with pytest.raises(RecipeError, match=r"arms\.space2\.supervision"):
        parse_paper_recipe(bad, sp.Space2Recipe)
    bad = copy.deepcopy(data)
    bad["data"]["labeled_fraction"] = 1.5
    with pytest.raises(RecipeError, match=r"data\.labeled_fraction"):
        parse_paper_recipe(bad, sp.Space2Recipe)


def _module(supervision, tile_size="auto"):
    trees = [{"hotel": {"inform": {"area": [v]}}} for v in ("north", "south", "north", "east")] + \
            [{"taxi": {"request": {"phone": []}}}] * 2
    torch.manual_seed(0)
    return TreeSemiSupervised(_MeanPool(), torch.nn.Linear(4, 3), torch.randn(6, 2, 4), torch.ones(6, 2),
                              torch.randn(5, 2, 4), torch.ones(5, 2), supervision=supervision, scores=TreeScores(trees),
                              exact_ids=exact_tree_match(trees), unlabeled_batch_size=3, batch_size=6, lr=1e-3,
                              tile_size=tile_size)


class _MeanPool(torch.nn.Module):
    """Stands in for TopLayers: no dropout, so both views are equal and the loss has a closed reference."""

    def forward(self, states, mask):
        return states.mean(1)


def test_module_losses_follow_the_supervision():
    from contrastkit.losses import InfoNCE

    batch = {"states": torch.randn(6, 2, 4), "mask": torch.ones(6, 2), "row": torch.arange(6)}
    values = {}
    for sup in ("none", "exact", "tree"):
        m = _module(sup)
        torch.manual_seed(1)
        values[sup] = m.loss_terms(batch, 0)
        z = m.head(batch["states"].mean(1))  # no dropout: both views equal; reference labeled term
        ref = {"none": InfoNCE(0.07)(z, z), "exact": InfoNCE(0.07)(z, z, labels=m.exact_ids),
               "tree": InfoNCE(0.07)(z, z, weights=m.scores.dense())}[sup]
        torch.testing.assert_close(values[sup]["labeled"], ref.detach())
    tiled = _module("tree", tile_size=4)
    torch.manual_seed(1)
    torch.testing.assert_close(tiled.loss_terms(batch, 0)["labeled"], values["tree"]["labeled"])
    with pytest.raises(ValueError, match="^supervision: "):
        _module("soft")


def test_quick_reproduction_is_a_smoke_run():
    res = sp.reproduce(quick=True)
    assert res.outcome() == "smoke"
    for arm in ("base", "simclr", "hard", "space2"):
        assert 0.0 <= res.metrics[f"{arm}/f1"]["mean"] <= 1.0
        assert -1.0 <= res.metrics[f"{arm}/tree_spearman"]["mean"] <= 1.0
