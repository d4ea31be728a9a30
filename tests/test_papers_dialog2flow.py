"""dialog2flow: same-label partners, the decision rules on hand values, the strict recipe, the quick run."""

import copy

import pytest
import torch
import yaml

from contrastkit.papers._schema import RecipeError, parse_paper_recipe
from contrastkit.papers.dialog2flow import reproduce as d2f
from contrastkit.papers.dialog2flow.module import ActPairs


def _values(gap, learn=0.05):
    noise = [0.0, 0.012, -0.009]
    out = {}
    for arm, shift in (("base", 0.0), ("hard", learn), ("soft", learn + gap)):
        out[arm] = {m: [0.5 + shift + s + (0.001 * i if arm == "soft" else 0.0) for i, s in enumerate(noise)]
                    for m in d2f.METRICS}
    return out


def test_decide_on_hand_values():
    r = d2f.load()
    assert d2f.decide(r, _values(0.08), quick=False).outcome() == "pass"
    assert d2f.decide(r, _values(-0.10), quick=False).outcome() == "fail"
    assert d2f.decide(r, _values(0.08, learn=-0.05), quick=False).outcome() == "not testable"
    assert d2f.decide(r, _values(0.08), quick=True).outcome() == "smoke"


def test_partners_share_the_label_and_are_other_rows():
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2])
    states, mask = torch.zeros(7, 3, 4), torch.ones(7, 3, dtype=torch.int64)
    m = ActPairs(torch.nn.Identity(), torch.nn.Identity(), states, mask, labels, torch.randn(3, 4), soft=True,
                 batch_size=4, lr=1e-3)
    torch.manual_seed(0)
    rows = torch.arange(7).repeat(20)
    p = m.partners(rows, labels[rows])
    assert torch.equal(labels[p], labels[rows]) and not bool((p == rows).any())
    with pytest.raises(ValueError, match="^labels: every label needs at least 2"):
        ActPairs(torch.nn.Identity(), torch.nn.Identity(), states, mask, torch.tensor([0, 0, 1, 1, 1, 2, 3]),
                 torch.randn(4, 4), soft=False, batch_size=4, lr=1e-3)


def test_recipe_is_strict():
    data = yaml.safe_load(d2f.RECIPE.read_text())
    full, quick = d2f.load(), d2f.load(quick=True)
    assert full.seeds == [0, 1, 2] and list(full.arms) == ["hard", "soft"] and quick.trainer.steps == 3
    assert (full.loss.temperature, full.loss.label_temperature) == (0.05, 0.35)
    bad = copy.deepcopy(data)
    bad["trainer"]["bogus"] = 1
    with pytest.raises(RecipeError, match=r"trainer\.bogus: unknown key"):
        parse_paper_recipe(bad, d2f.Dialog2FlowRecipe)
    bad = copy.deepcopy(data)
    bad["trainer"]["steps"] = "150"
    with pytest.raises(RecipeError, match=r"trainer\.steps"):
        parse_paper_recipe(bad, d2f.Dialog2FlowRecipe)


def test_quick_reproduction_is_a_smoke_run():
    res = d2f.reproduce(quick=True)
    assert res.outcome() == "smoke"
    for arm in ("base", "hard", "soft"):
        assert 0.0 <= res.metrics[f"{arm}/f1_1shot"]["mean"] <= 1.0
        assert -1.0 <= res.metrics[f"{arm}/spearman"]["mean"] <= 1.0
