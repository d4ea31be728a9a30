"""The offline TOD utterance set and SPACE-2's semantic-tree scores: determinism, the held-out-template split,
the hand value 0.6, tiles equal to the pair-by-pair score, SupCon with tree tiles tiled == dense, bad trees."""

import pytest
import torch

from contrastkit.losses import InfoNCE, views_tile
from contrastkit.text import dialogue as d


def test_set_has_twelve_acts_fifteen_templates_and_a_fixed_held_out_split():
    assert len(d.LABELS) == 12 and d.LABELS[0] == "inform price"
    assert all(len(t) == 15 for t in d.TEMPLATES.values()) and set(d.TEMPLATES) == set(d.LABELS)
    assert all(len(set(t)) == 15 for t in d.TEMPLATES.values())  # paraphrases, no duplicated template
    assert all(len(v) == d.N_HELD_OUT for v in d.HELD_OUT_TEMPLATES.values())
    assert d._held_out() == d.HELD_OUT_TEMPLATES  # fixed seed: recomputing gives the same split
    train, held = d.tod_utterances("train", per_template=2), d.tod_utterances("held_out", per_template=2)
    assert len(train) == 12 * 10 * 2 and len(held) == 12 * 5 * 2
    assert not {(u.label, u.template) for u in train} & {(u.label, u.template) for u in held}
    assert all(u.held_out for u in held) and not any(u.held_out for u in train)
    for u in train + held:
        assert "{" not in u.text and u.label == f"{u.act} {u.slot}"
        assert (u.value is None) == (u.act == "request")
        assert u.value is None or u.value.lower() in u.text.lower()  # sentence-initial values are capitalised


def test_same_seed_same_utterances_and_trees_are_nested_mappings():
    a, b = d.tod_utterances(seed=3, per_template=1), d.tod_utterances(seed=3, per_template=1)
    assert a == b and a != d.tod_utterances(seed=4, per_template=1)
    u = next(x for x in a if x.act == "inform")
    assert u.tree == {u.domain: {"inform": {u.slot: [u.value]}}}
    r = next(x for x in a if x.act == "request")
    assert r.tree == {r.domain: {"request": {r.slot: []}}}
    with pytest.raises(ValueError, match="^split: "):
        d.tod_utterances("test")
    with pytest.raises(ValueError, match="^per_template: "):
        d.tod_utterances(per_template=0)


def test_hierarchical_set_score_hand_values():
    north = {"hotel": {"inform": {"area": [{"value": "north"}]}}}
    south = {"hotel": {"inform": {"area": [{"value": "south"}]}}}
    # D, I, S, DI, IS, DIS match; V, SV, ISV, DISV do not: 6 / 10
    assert d.hierarchical_set_score(north, south) == pytest.approx(0.6)
    assert d.hierarchical_set_score(north, north) == 1.0
    assert d.hierarchical_set_score(north, {}) == 0.0
    assert d.hierarchical_set_score(north, {"Hotel ": {"INFORM": {"area": ["North"]}}}) == 1.0  # cleaned
    per = d.hierarchical_set_score(north, south, per_view=True)
    assert dict(zip(d.VIEW_NAMES, per, strict=True)) == {"D": 1, "I": 1, "S": 1, "V": 0, "DI": 1, "IS": 1, "SV": 0,
                                                         "DIS": 1, "ISV": 0, "DISV": 0}
    # a request (no values) vs an inform of the same slot: V is {} vs {north} (counted, 0); D and S match only
    req = {"hotel": {"request": {"area": []}}}
    assert d.hierarchical_set_score(north, req) == pytest.approx(2 / 10)
    # two requests: every value view has an empty union and is skipped; the 6 others match
    assert d.hierarchical_set_score(req, {"hotel": {"request": {"area": []}}}) == 1.0
    # SPACE-2's placeholder intent is left out of I, DI, IS, DIS, ISV, DISV
    default = {"hotel": {"DEFAULT_INTENT": {"area": ["north"]}}}
    assert d.tree_views(default)[1] == frozenset() and d.tree_views(default)[3] == {"north"}


def test_tree_score_tiles_equal_the_pairwise_score():
    utts = d.tod_utterances(per_template=1, seed=5)[::4][:40]
    trees = [u.tree for u in utts] + [{}]
    scores = d.TreeScores(trees, dtype=torch.float64)
    m = scores.dense()
    for i in range(len(trees)):
        for j in range(len(trees)):
            want = 1.0 if i == j else d.hierarchical_set_score(trees[i], trees[j])
            assert float(m[i, j]) == pytest.approx(want, abs=1e-12), (i, j)
    torch.testing.assert_close(scores(slice(3, 17), slice(20, 41)), m[3:17, 20:41])
    idx = torch.tensor([5, 2, 9])
    torch.testing.assert_close(scores.subset(idx).dense(), m[idx][:, idx])
    assert len(set(m.flatten().tolist())) > 4  # graded scores, not a 0/1 match


def test_tree_soft_supcon_runs_tiled_from_the_tree_tile():
    utts = d.tod_utterances(per_template=1, seed=6)[:48]
    scores = d.TreeScores([u.tree for u in utts], dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(48, 8, generator=g, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(48, 8, generator=g, dtype=torch.float64, requires_grad=True)
    dense = InfoNCE(0.07, tile_size=None)(z1, z2, weights=scores.dense())
    tiled = InfoNCE(0.07, tile_size=16)(z1, z2, weights=views_tile(scores, 48))
    torch.testing.assert_close(tiled, dense)
    for x, y in zip(torch.autograd.grad(tiled, (z1, z2)), torch.autograd.grad(dense, (z1, z2)), strict=True):
        torch.testing.assert_close(x, y)


def test_exact_tree_match_groups_equal_trees():
    trees = [{"a": {"inform": {"s": ["x"]}}}, {"A": {"inform": {"s": ["X"]}}}, {"a": {"inform": {"s": ["y"]}}}]
    ids = d.exact_tree_match(trees)
    assert ids[0] == ids[1] != ids[2]


def test_a_tree_that_is_not_a_nested_mapping_is_named():
    good = {"hotel": {"inform": {"area": ["north"]}}}
    with pytest.raises(TypeError, match="^tree_a: expected a nested mapping"):
        d.hierarchical_set_score(["hotel"], good)
    with pytest.raises(TypeError, match="^tree_b: expected \\{domain \\(str\\): \\{act: ...\\}\\}, got 'hotel': list"):
        d.hierarchical_set_score(good, {"hotel": ["inform"]})
    with pytest.raises(TypeError, match="^tree_b: expected 'hotel' -> 'inform' -> \\{slot"):
        d.hierarchical_set_score(good, {"hotel": {"inform": {"area": "north"}}})
    with pytest.raises(TypeError, match="^tree_b: a value mapping needs a 'value' key"):
        d.hierarchical_set_score(good, {"hotel": {"inform": {"area": [{"v": "north"}]}}})
    with pytest.raises(TypeError, match="^trees\\[1\\]: expected a nested mapping"):
        d.TreeScores([good, "hotel inform area"])
    with pytest.raises(TypeError, match="^trees: "):
        d.TreeScores([])
    with pytest.raises(ValueError, match="^index: expected rows in"):
        d.TreeScores([good, good]).subset(torch.tensor([0, 2]))


def test_exact_tree_match_treats_trees_as_sets_like_the_score():
    # duplicated or reordered values: the same cleaned views, score 1 -> the same exact-match group
    t1 = {"hotel": {"inform": {"area": ["north", "north", "south"]}}}
    t2 = {"Hotel": {"inform": {"area": ["south", "north"]}}}
    assert d.hierarchical_set_score(t1, t2) == 1.0
    assert d.exact_tree_match([t1, t2]).tolist() == [0, 0]


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool, "float32", float])
def test_tree_scores_dtype_must_be_a_floating_torch_dtype(dtype):
    # an integer dtype would round 0.6 to 0 silently
    with pytest.raises(TypeError, match="dtype"):
        d.TreeScores([{"hotel": {}}, {"taxi": {}}], dtype=dtype)


def test_tree_scores_tiles_outside_the_trees_are_refused():
    scores = d.TreeScores([{"hotel": {}}, {"taxi": {}}, {}])
    for rows, cols in ((slice(0, 5), slice(0, 3)), (slice(2, 1), slice(0, 3)), (slice(0, 3), slice(-1, 3))):
        with pytest.raises(ValueError, match="rows|cols"):
            scores(rows, cols)
    assert scores(slice(1, 3), slice(0, 2)).shape == (2, 2)


def test_identical_trees_score_one_even_when_every_view_is_ignored():
    # a tree of placeholder nodes only has 10 empty views; identical cleaned trees still score 1 (SPACE-2's
    # official score returns 1 for equal cleaned frames before building the views), a different tree 0
    t = {"DEFAULT_DOMAIN": {"default_intent": {}}}
    other = {"hotel": {"inform": {"area": ["north"]}}}
    assert d.hierarchical_set_score(t, {"default_domain": {"DEFAULT_INTENT": {}}}) == 1.0
    assert d.hierarchical_set_score(t, other) == 0.0
    dense = d.TreeScores([t, {"default_domain": {"default_intent": {}}}, other, {}, {}], dtype=torch.float64).dense()
    for i in range(5):
        for j in range(5):
            trees = [t, {"default_domain": {"default_intent": {}}}, other, {}, {}]
            want = 1.0 if i == j else d.hierarchical_set_score(trees[i], trees[j])
            assert float(dense[i, j]) == want, (i, j)
